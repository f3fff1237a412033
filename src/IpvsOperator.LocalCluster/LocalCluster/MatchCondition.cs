using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A webhook's <c>matchConditions</c>, in the one shape LocalCluster evaluates: a field of
/// <c>object</c> or <c>oldObject</c> compared with a string, <c>object.spec.type == 'LoadBalancer'</c>.
/// kube-apiserver evaluates any CEL; an expression outside this subset is an error here, not a silent
/// match, so a configuration LocalCluster cannot honour fails the test that uses it.
/// </summary>
internal sealed partial record MatchCondition(string Name, string Root, string[] Path, bool Equal, string Literal)
{
    [GeneratedRegex(@"^\s*(object|oldObject)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*(==|!=)\s*'([^'\\]*)'\s*$")]
    private static partial Regex Comparison();

    public static MatchCondition Parse(JsonObject condition)
    {
        var name = condition["name"]?.GetValue<string>() ?? string.Empty;
        var expression = condition["expression"]?.GetValue<string>() ?? string.Empty;
        var match = Comparison().Match(expression);
        if (!match.Success)
        {
            throw new ApiException(System.Net.HttpStatusCode.InternalServerError, "InternalError",
                $"matchCondition {name}: LocalCluster evaluates only \"object.<field>... == '<text>'\" (or !=, or oldObject), not {expression}");
        }
        return new MatchCondition(name, match.Groups[1].Value, match.Groups[2].Value[1..].Split('.'), match.Groups[3].Value == "==", match.Groups[4].Value);
    }

    /// <summary>True or false; null when the field is absent (CEL's "no such key": an evaluation error).</summary>
    public bool? Evaluate(JsonObject? newObject, JsonObject? oldObject)
    {
        JsonNode? node = Root == "object" ? newObject : oldObject;
        foreach (var step in Path)
        {
            node = (node as JsonObject)?[step];
        }
        if (node is not JsonValue value || !value.TryGetValue<string>(out var text))
        {
            return null;
        }
        return (text == Literal) == Equal;
    }
}
