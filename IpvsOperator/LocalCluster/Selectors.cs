using System.Text.Json.Nodes;
using IpvsOperator.Ipam;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// Label selectors in the query syntax (<c>a=b,c!=d,e in (x,y),f notin (z),g,!h</c>) and field
/// selectors on <c>metadata.name</c> and <c>metadata.namespace</c>, the fields the API server
/// supports for every type.
/// </summary>
public sealed class ObjectFilter
{
    private readonly LabelSelector? labels;
    private readonly List<(string Field, string Value, bool Equal)> fields;

    private ObjectFilter(LabelSelector? labels, List<(string, string, bool)> fields)
    {
        this.labels = labels;
        this.fields = fields;
    }

    public static readonly ObjectFilter Everything = new(null, []);

    public static ObjectFilter Parse(string? labelSelector, string? fieldSelector) =>
        new(string.IsNullOrWhiteSpace(labelSelector) ? null : ParseLabels(labelSelector), ParseFields(fieldSelector));

    public bool Matches(JsonObject obj)
    {
        var metadata = obj["metadata"] as JsonObject;
        foreach (var (field, value, equal) in fields)
        {
            var actual = metadata?[field == "metadata.name" ? "name" : "namespace"]?.GetValue<string>() ?? string.Empty;
            if ((actual == value) != equal)
            {
                return false;
            }
        }
        if (labels is null)
        {
            return true;
        }
        var objectLabels = (metadata?["labels"] as JsonObject)?.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? string.Empty)
            ?? new Dictionary<string, string>();
        return labels.Matches(objectLabels);
    }

    private static List<(string, string, bool)> ParseFields(string? selector)
    {
        var result = new List<(string, string, bool)>();
        foreach (var term in Split(selector))
        {
            var equal = !term.Contains("!=", StringComparison.Ordinal);
            var parts = term.Split(equal ? (term.Contains("==", StringComparison.Ordinal) ? "==" : "=") : "!=", 2);
            if (parts.Length != 2)
            {
                throw ApiException.BadRequest($"invalid field selector \"{term}\": expected field=value or field!=value");
            }
            var field = parts[0].Trim();
            if (field is not ("metadata.name" or "metadata.namespace"))
            {
                throw ApiException.BadRequest($"\"{field}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"");
            }
            result.Add((field, parts[1].Trim(), equal));
        }
        return result;
    }

    public static LabelSelector ParseLabels(string selector)
    {
        var matchLabels = new Dictionary<string, string>();
        var expressions = new List<LabelRequirement>();
        foreach (var term in Split(selector))
        {
            var trimmed = term.Trim();
            var words = trimmed.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 3 && words[1] is "in" or "notin" && words[2].StartsWith('(') && words[2].EndsWith(')'))
            {
                var values = words[2][1..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                expressions.Add(new LabelRequirement(words[0], words[1] == "in" ? SelectorOperator.In : SelectorOperator.NotIn, values));
            }
            else if (trimmed.Contains("!=", StringComparison.Ordinal))
            {
                var parts = trimmed.Split("!=", 2);
                expressions.Add(new LabelRequirement(parts[0].Trim(), SelectorOperator.NotIn, [parts[1].Trim()]));
            }
            else if (trimmed.Contains('=', StringComparison.Ordinal))
            {
                var parts = trimmed.Split(trimmed.Contains("==", StringComparison.Ordinal) ? "==" : "=", 2);
                matchLabels[parts[0].Trim()] = parts[1].Trim();
            }
            else if (trimmed.StartsWith('!'))
            {
                expressions.Add(new LabelRequirement(trimmed[1..].Trim(), SelectorOperator.DoesNotExist, []));
            }
            else if (trimmed.Length > 0 && !trimmed.Contains(' ', StringComparison.Ordinal))
            {
                expressions.Add(new LabelRequirement(trimmed, SelectorOperator.Exists, []));
            }
            else
            {
                throw ApiException.BadRequest($"unable to parse requirement \"{trimmed}\" of label selector \"{selector}\"");
            }
        }
        return new LabelSelector(matchLabels, expressions);
    }

    /// <summary>Splits on commas that are not inside parentheses.</summary>
    private static IEnumerable<string> Split(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            yield break;
        }
        var depth = 0;
        var start = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            depth += selector[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (selector[i] == ',' && depth == 0)
            {
                yield return selector[start..i];
                start = i + 1;
            }
        }
        yield return selector[start..];
    }
}
