using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace IpvsOperator.Runtime.Client;

/// <summary>
/// The JSON of every object sent to or read from the API server, source-generated: no reflection,
/// so a Native AOT build keeps the metadata of these types only, where <c>KubernetesJson</c> needs
/// every API type's (issue 21). Written as <c>KubernetesJson</c> writes it (a test compares the two):
/// nulls omitted, times in RFC 3339 with microseconds, UTC. The runtime's context has the kinds the
/// runtime itself handles; an operator adds its own with <see cref="Register"/>.
/// </summary>
public static class ApiJson
{
    private static readonly Lock Gate = new();
    private static JsonSerializerContext[] contexts = [RuntimeJsonContext.Default];

    /// <summary>Adds the types of <paramref name="context"/> (an operator's kinds); its options should carry <see cref="KubernetesTimeConverter"/>. A second call with the same context changes nothing.</summary>
    public static void Register(JsonSerializerContext context)
    {
        lock (Gate)
        {
            if (contexts.Contains(context))
            {
                return;
            }
            contexts = [.. contexts, context];
        }
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, TypeInfo<T>());

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize(json, TypeInfo<T>()) ?? throw new JsonException($"null where a {typeof(T).Name} was expected");

    public static async Task<T> DeserializeAsync<T>(Stream json, CancellationToken cancellationToken) =>
        await JsonSerializer.DeserializeAsync(json, TypeInfo<T>(), cancellationToken) ?? throw new JsonException($"null where a {typeof(T).Name} was expected");

    public static T Deserialize<T>(JsonElement json) =>
        json.Deserialize(TypeInfo<T>()) ?? throw new JsonException($"null where a {typeof(T).Name} was expected");

    /// <summary>The value as a JSON tree, to put in a patch built as a <see cref="JsonObject"/> (Native AOT cannot serialize anonymous types).</summary>
    public static JsonNode? ToNode<T>(T value) => JsonSerializer.SerializeToNode(value, TypeInfo<T>());

    /// <summary>A list of strings for a patch built as a <see cref="JsonObject"/>.</summary>
    public static JsonArray Strings(IEnumerable<string> values) => [.. values.Select(value => JsonValue.Create(value))];

    /// <summary>A deep copy, through JSON.</summary>
    public static T Copy<T>(T value) => Deserialize<T>(Serialize(value));

    /// <summary>
    /// The metadata of <typeparamref name="T"/>, looked up in the registered contexts once and then
    /// kept: every watch event and every write goes through here.
    /// </summary>
    public static JsonTypeInfo<T> TypeInfo<T>() => TypeInfoOf<T>.Value ??= Find<T>();

    private static JsonTypeInfo<T> Find<T>() =>
        contexts.Select(context => context.GetTypeInfo(typeof(T))).OfType<JsonTypeInfo<T>>().FirstOrDefault()
        ?? throw new NotSupportedException($"{typeof(T)} is in no JSON context registered with {nameof(ApiJson)}: add [JsonSerializable(typeof({typeof(T).Name}))] to the operator's context");

    /// <summary>One slot per type; a type not yet found stays empty, so a context registered later is still searched.</summary>
    private static class TypeInfoOf<T>
    {
        public static JsonTypeInfo<T>? Value;
    }
}
