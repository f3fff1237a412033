using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The JSONPath subset of printer columns: <c>.a.b</c>, <c>[*]</c>, <c>[0]</c> and
/// <c>[?(@.type=="Ready")]</c>. Results are joined with commas, as kubectl shows them.
/// </summary>
internal static class JsonPath
{
    public static IEnumerable<JsonNode?> Select(JsonNode? root, string path)
    {
        IEnumerable<JsonNode?> current = [root];
        foreach (var step in Steps(path))
        {
            current = step switch
            {
                "[*]" => current.SelectMany(n => n as JsonArray ?? []),
                _ when step.StartsWith("[?(@.", StringComparison.Ordinal) => Filter(current, step),
                _ when step.StartsWith('[') && int.TryParse(step[1..^1], out var index) =>
                    current.Select(n => n is JsonArray a && index < a.Count ? a[index] : null),
                _ => current.Select(n => (n as JsonObject)?[step]),
            };
        }
        return current.Where(n => n is not null);
    }

    public static string Text(JsonNode? root, string path) =>
        string.Join(",", Select(root, path).Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n!.ToJsonString()));

    private static IEnumerable<JsonNode?> Filter(IEnumerable<JsonNode?> nodes, string step)
    {
        // [?(@.key=="value")]
        var body = step[5..^2];
        var parts = body.Split("==", 2);
        var key = parts[0];
        var value = parts.Length > 1 ? parts[1].Trim('"', '\'') : null;
        return nodes.SelectMany(n => n as JsonArray ?? []).Where(item =>
            item is JsonObject o && (value is null ? o.ContainsKey(key) : o[key]?.ToString() == value));
    }

    private static IEnumerable<string> Steps(string path)
    {
        var i = 0;
        while (i < path.Length)
        {
            if (path[i] == '.')
            {
                i++;
                continue;
            }
            if (path[i] == '[')
            {
                var end = path.IndexOf(']', i);
                yield return path[i..(end + 1)];
                i = end + 1;
                continue;
            }
            var next = path.IndexOfAny(['.', '['], i);
            next = next < 0 ? path.Length : next;
            yield return path[i..next];
            i = next;
        }
    }
}
