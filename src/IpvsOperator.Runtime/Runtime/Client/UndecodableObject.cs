using System.Text.Json;

namespace IpvsOperator.Runtime.Client;

/// <summary>
/// An object the API server sent that does not read as its type (a string field holding
/// <c>true</c>, say): what its raw JSON still tells, to name it in a log and to move a watch past it.
/// </summary>
public sealed record UndecodableObject(string Kind, string? Namespace, string? Name, string? ResourceVersion, string Error)
{
    /// <summary>What <paramref name="raw"/> says of itself; <paramref name="kind"/> when it does not say its kind.</summary>
    public static UndecodableObject From(JsonElement raw, string kind, Exception error)
    {
        var metadata = raw.ValueKind == JsonValueKind.Object && raw.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
        return new UndecodableObject(Text(raw, "kind") ?? kind, Text(metadata, "namespace"), Text(metadata, "name"), Text(metadata, "resourceVersion"), error.Message);
    }

    /// <summary>Kind, namespace and name, as far as they are known: <c>Service shop/web</c>.</summary>
    public override string ToString() =>
        $"{Kind} {(Namespace is { Length: > 0 } ns ? $"{ns}/" : string.Empty)}{Name ?? "(unnamed)"}";

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
