using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The <c>labelSelector</c> and <c>fieldSelector</c> of a list or watch: labels (<see cref="LabelQuery"/>) and field
/// selectors on <c>metadata.name</c> and <c>metadata.namespace</c>, which every type supports, and
/// on the fields a type adds (an Event's <c>involvedObject.*</c>, a Service's <c>spec.type</c>).
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

    /// <summary>Selects every object: no label and no field selector.</summary>
    public bool IsEverything => labels is null && fields.Count == 0;

    public static ObjectFilter Parse(string? labelSelector, string? fieldSelector, ApiResource? resource = null) =>
        new(string.IsNullOrWhiteSpace(labelSelector) ? null : LabelQuery.Parse(labelSelector), ParseFields(fieldSelector, resource));

    public bool Matches(JsonObject obj)
    {
        foreach (var (field, value, equal) in fields)
        {
            if ((FieldValue(obj, field) == value) != equal)
            {
                return false;
            }
        }
        if (labels is null)
        {
            return true;
        }
        var objectLabels = (obj["metadata"]?["labels"] as JsonObject)?.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? string.Empty)
            ?? new Dictionary<string, string>();
        return labels.Matches(objectLabels);
    }

    /// <summary>A field's value as a selector compares it: a dotted path, an Event's source as its component, absent as empty.</summary>
    private static string FieldValue(JsonObject obj, string field)
    {
        JsonNode? node = obj;
        foreach (var part in (field == "source" ? "source.component" : field).Split('.'))
        {
            node = (node as JsonObject)?[part];
        }
        return node is JsonValue value ? value.ToString() : string.Empty;
    }

    private static List<(string, string, bool)> ParseFields(string? selector, ApiResource? resource)
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
            var known = (string[])["metadata.name", "metadata.namespace", .. resource?.FieldSelectors ?? []];
            if (!known.Contains(field))
            {
                throw ApiException.BadRequest($"\"{field}\" is not a known field selector: only {string.Join(", ", known.Select(k => $"\"{k}\""))}");
            }
            result.Add((field, parts[1].Trim(), equal));
        }
        return result;
    }
}
