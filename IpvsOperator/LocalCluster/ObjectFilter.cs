using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The <c>labelSelector</c> and <c>fieldSelector</c> of a list or watch: labels (<see cref="LabelQuery"/>) and field
/// selectors on <c>metadata.name</c> and <c>metadata.namespace</c>, the fields the API server
/// supports for every type.
/// </summary>
public sealed class ObjectFilter
{
    private readonly LabelQuery? labels;
    private readonly List<(string Field, string Value, bool Equal)> fields;

    private ObjectFilter(LabelQuery? labels, List<(string, string, bool)> fields)
    {
        this.labels = labels;
        this.fields = fields;
    }

    public static readonly ObjectFilter Everything = new(null, []);

    public static ObjectFilter Parse(string? labelSelector, string? fieldSelector) =>
        new(string.IsNullOrWhiteSpace(labelSelector) ? null : LabelQuery.Parse(labelSelector), ParseFields(fieldSelector));

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
        foreach (var term in LabelQuery.SplitTerms(selector))
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
}
