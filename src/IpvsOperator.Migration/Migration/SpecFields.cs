using System.Text.Json.Nodes;
using k8s;
using k8s.Models;

namespace IpvsOperator.Migration;

/// <summary>
/// Reads the fields of a MetalLB spec and remembers which were read, so that every field the
/// translation does not handle (one MetalLB added later, a typo) is reported rather than dropped
/// in silence. A value of the wrong type is input MetalLB's own CRD would refuse: it is unreadable.
/// </summary>
internal sealed class SpecFields(MetalLBObject source, JsonObject? spec = null, string prefix = "spec.")
{
    private readonly JsonObject fields = spec ?? source.Spec;
    private readonly HashSet<string> read = new(StringComparer.Ordinal);

    public MetalLBObject Source => source;

    public string PathOf(string name) => prefix + name;

    /// <summary>Whether the field is there with a value (null counts as absent, as in Kubernetes).</summary>
    public bool Has(string name) => fields[name] is not null;

    public string? String(string name) => Value(name, node => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null, "a string");

    public bool? Bool(string name) => Scalar<bool>(name, "true or false");

    public long? Integer(string name) => Scalar<long>(name, "a whole number");

    public List<string> Strings(string name) =>
        Value(name, node => node is JsonArray a && a.All(e => e is JsonValue v && v.TryGetValue<string>(out _)) ? a.Select(e => e!.GetValue<string>()).ToList() : null, "a list of strings") ?? [];

    public List<V1LabelSelector> Selectors(string name) =>
        Value(name, node => node is JsonArray a && a.All(e => e is JsonObject) ? a.Select(e => KubernetesJson.Deserialize<V1LabelSelector>(e!.ToJsonString())).ToList() : null, "a list of label selectors") ?? [];

    /// <summary>The field as written, whatever its shape (for one that is only reported).</summary>
    public JsonNode? Raw(string name)
    {
        read.Add(name);
        return fields[name];
    }

    public JsonObject? Object(string name) => Value(name, node => node as JsonObject, "an object");

    /// <summary>The fields present that nothing read, with their values as written.</summary>
    public IEnumerable<(string Path, string Value)> Unread() =>
        fields.Where(f => f.Value is not null && !read.Contains(f.Key)).Select(f => (prefix + f.Key, f.Value!.ToJsonString()));

    private T? Scalar<T>(string name, string expected)
        where T : struct
    {
        read.Add(name);
        return fields[name] switch
        {
            null => null,
            JsonValue value when value.TryGetValue<T>(out var typed) => typed,
            var other => throw new MetalLBInputException($"{source.Where}: {prefix}{name} is {other.ToJsonString()}; MetalLB expects {expected}"),
        };
    }

    private T? Value<T>(string name, Func<JsonNode, T?> convert, string expected)
        where T : class
    {
        read.Add(name);
        if (fields[name] is not { } node)
        {
            return default;
        }
        try
        {
            return convert(node) ?? throw new MetalLBInputException($"{source.Where}: {prefix}{name} is {node.ToJsonString()}; MetalLB expects {expected}");
        }
        catch (Exception error) when (error is System.Text.Json.JsonException or InvalidOperationException or FormatException)
        {
            throw new MetalLBInputException($"{source.Where}: {prefix}{name} is {node.ToJsonString()}; MetalLB expects {expected}");
        }
    }
}
