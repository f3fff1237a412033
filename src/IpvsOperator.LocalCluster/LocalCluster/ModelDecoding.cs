using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using k8s.Models;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// What decoding a built-in object into upstream's Go types refuses: a value of the wrong JSON
/// type (a bool where labels hold strings, a string where a port is an int32). kube-apiserver
/// answers 400 with encoding/json's message, naming the Go struct and the field's path; the Go
/// names are read off KubernetesClient's models, which are generated from upstream's.
/// </summary>
internal static partial class ModelDecoding
{
    private static readonly ConcurrentDictionary<Type, Dictionary<string, Type>> Fields = new();

    [GeneratedRegex("^(?:[A-Z][a-z]+)?[vV][0-9]+(?:alpha[0-9]+|beta[0-9]+)?(?=[A-Z])")]
    private static partial Regex VersionPrefix();

    /// <summary>Refuses <paramref name="obj"/> with a 400 when a field has a JSON type its Go field cannot take.</summary>
    public static void Check(ApiResource resource, JsonObject obj)
    {
        if (resource.Model is { } model && Mismatch(obj, model, string.Empty, GoName(model)) is { } error)
        {
            throw ApiException.BadRequest($"{resource.Kind} in version \"{resource.Version}\" cannot be handled as a {resource.Kind}: json: {error}");
        }
    }

    private static string? Mismatch(JsonNode? value, Type type, string path, string owner)
    {
        if (value is null)
        {
            return null; // null decodes to the zero value of anything
        }
        type = Nullable.GetUnderlyingType(type) ?? type;
        var kind = value.GetValueKind();
        string Refused(string goType) => $"cannot unmarshal {JsonKind(kind)} into Go struct field {owner}.{path} of type {goType}";
        if (type == typeof(string))
        {
            return kind == JsonValueKind.String ? null : Refused("string");
        }
        if (type == typeof(bool))
        {
            return kind is JsonValueKind.True or JsonValueKind.False ? null : Refused("bool");
        }
        if (type == typeof(int) || type == typeof(long))
        {
            var goType = type == typeof(int) ? "int32" : "int64";
            if (kind != JsonValueKind.Number)
            {
                return Refused(goType);
            }
            // Read from its text: values the server set itself hold an int, parsed ones a JSON element.
            var fits = long.TryParse(value.ToJsonString(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var whole)
                && (type == typeof(long) || whole is >= int.MinValue and <= int.MaxValue);
            return fits ? null : $"cannot unmarshal number {value.ToJsonString()} into Go struct field {owner}.{path} of type {goType}";
        }
        if (type == typeof(double) || type == typeof(float))
        {
            return kind == JsonValueKind.Number ? null : Refused("float64");
        }
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return kind == JsonValueKind.String ? null : Refused("v1.Time");
        }
        if (type == typeof(byte[]))
        {
            return kind == JsonValueKind.String ? null : Refused("[]uint8");
        }
        if (type == typeof(IntOrString))
        {
            return kind is JsonValueKind.String or JsonValueKind.Number ? null : Refused("intstr.IntOrString");
        }
        if (type == typeof(ResourceQuantity))
        {
            return kind is JsonValueKind.String or JsonValueKind.Number ? null : Refused("resource.Quantity");
        }
        if (type == typeof(object) || type.Name is "V1JSON")
        {
            return null; // free-form
        }
        if (Interface(type, typeof(IDictionary<,>)) is { } dictionary)
        {
            var valueType = dictionary.GetGenericArguments()[1];
            return value is JsonObject map
                ? map.Select(entry => Mismatch(entry.Value, valueType, path, owner)).FirstOrDefault(e => e is not null)
                : Refused($"map[string]{GoTypeName(valueType)}");
        }
        if (type != typeof(string) && Interface(type, typeof(IEnumerable<>)) is { } list)
        {
            var itemType = list.GetGenericArguments()[0];
            return value is JsonArray items
                ? items.Select(item => Mismatch(item, itemType, path, owner)).FirstOrDefault(e => e is not null)
                : Refused($"[]{GoTypeName(itemType)}");
        }
        if (value is not JsonObject obj)
        {
            return Refused(GoTypeName(type));
        }
        var fields = FieldsOf(type);
        var name = GoName(type);
        foreach (var (field, child) in obj)
        {
            if (fields.TryGetValue(field, out var fieldType) && Mismatch(child, fieldType, path.Length == 0 ? field : $"{path}.{field}", name) is { } error)
            {
                return error;
            }
        }
        return null;
    }

    private static string JsonKind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Number => "number",
        JsonValueKind.String => "string",
        JsonValueKind.Array => "array",
        _ => "object",
    };

    /// <summary>How Go names the type in a message: string, int32, []v1.ServicePort, map[string]string.</summary>
    private static string GoTypeName(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            _ when type == typeof(string) => "string",
            _ when type == typeof(bool) => "bool",
            _ when type == typeof(int) => "int32",
            _ when type == typeof(long) => "int64",
            _ when type == typeof(double) || type == typeof(float) => "float64",
            _ when Interface(type, typeof(IDictionary<,>)) is { } dictionary => $"map[string]{GoTypeName(dictionary.GetGenericArguments()[1])}",
            _ when Interface(type, typeof(IEnumerable<>)) is { } list => $"[]{GoTypeName(list.GetGenericArguments()[0])}",
            _ => $"v1.{GoName(type)}",
        };
    }

    /// <summary>The Go struct's name: the model's without its version prefix (V1ServiceSpec, Corev1Event: ServiceSpec, Event).</summary>
    private static string GoName(Type model) => VersionPrefix().Replace(model.Name, string.Empty);

    private static Dictionary<string, Type> FieldsOf(Type type) => Fields.GetOrAdd(type, t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Select(p => (p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name, p.PropertyType))
        .Where(p => p.Name is not null)
        .ToDictionary(p => p.Name!, p => p.PropertyType, StringComparer.Ordinal));

    private static Type? Interface(Type type, Type generic) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == generic ? type
        : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic);
}
