using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A label selector as the API server evaluates it: requirements that must all hold, read from the
/// query syntax (<c>a=b,c!=d,e in (x,y),f notin (z),g,!h</c>) or from a <c>LabelSelector</c> object
/// (<c>matchLabels</c>, <c>matchExpressions</c>). LocalCluster's own: it shares no code with the
/// operator it stands in front of, so that a bug in the operator's selectors cannot hide here.
/// </summary>
internal sealed class LabelQuery
{
    private enum Operator
    {
        Equals,
        NotEquals,
        In,
        NotIn,
        Exists,
        DoesNotExist,
    }

    private readonly record struct Requirement(string Key, Operator Operator, IReadOnlyList<string> Values)
    {
        public bool Matches(IReadOnlyDictionary<string, string> labels)
        {
            var present = labels.TryGetValue(Key, out var value);
            return Operator switch
            {
                Operator.Equals => present && value == Values[0],
                Operator.NotEquals => !present || value != Values[0],
                Operator.In => present && Values.Contains(value!),
                Operator.NotIn => !present || !Values.Contains(value!),
                Operator.Exists => present,
                _ => !present,
            };
        }
    }

    private readonly List<Requirement> requirements;

    private LabelQuery(List<Requirement> requirements) => this.requirements = requirements;

    public bool Matches(IReadOnlyDictionary<string, string> labels) => requirements.All(r => r.Matches(labels));

    /// <summary>The query syntax of <c>?labelSelector=</c>; a term that does not parse is a 400.</summary>
    public static LabelQuery Parse(string selector)
    {
        var requirements = new List<Requirement>();
        foreach (var term in SplitTerms(selector))
        {
            var trimmed = term.Trim();
            var words = trimmed.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 3 && words[1] is "in" or "notin" && words[2].StartsWith('(') && words[2].EndsWith(')'))
            {
                var values = words[2][1..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                requirements.Add(new Requirement(words[0], words[1] == "in" ? Operator.In : Operator.NotIn, values));
            }
            else if (trimmed.Contains("!=", StringComparison.Ordinal))
            {
                var parts = trimmed.Split("!=", 2);
                requirements.Add(new Requirement(parts[0].Trim(), Operator.NotEquals, [parts[1].Trim()]));
            }
            else if (trimmed.Contains('=', StringComparison.Ordinal))
            {
                var parts = trimmed.Split(trimmed.Contains("==", StringComparison.Ordinal) ? "==" : "=", 2);
                requirements.Add(new Requirement(parts[0].Trim(), Operator.Equals, [parts[1].Trim()]));
            }
            else if (trimmed.StartsWith('!'))
            {
                requirements.Add(new Requirement(trimmed[1..].Trim(), Operator.DoesNotExist, []));
            }
            else if (trimmed.Length > 0 && !trimmed.Contains(' ', StringComparison.Ordinal))
            {
                requirements.Add(new Requirement(trimmed, Operator.Exists, []));
            }
            else
            {
                throw ApiException.BadRequest($"unable to parse requirement \"{trimmed}\" of label selector \"{selector}\"");
            }
        }
        return new LabelQuery(requirements);
    }

    /// <summary>A <c>LabelSelector</c> object, as webhooks' object and namespace selectors carry it.</summary>
    public static LabelQuery FromObject(JsonObject selector)
    {
        var requirements = new List<Requirement>();
        foreach (var (key, value) in selector["matchLabels"] as JsonObject ?? [])
        {
            requirements.Add(new Requirement(key, Operator.Equals, [value!.GetValue<string>()]));
        }
        foreach (var expression in (selector["matchExpressions"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var name = expression["operator"]?.GetValue<string>();
            var op = name switch
            {
                "In" => Operator.In,
                "NotIn" => Operator.NotIn,
                "Exists" => Operator.Exists,
                "DoesNotExist" => Operator.DoesNotExist,
                _ => throw ApiException.BadRequest($"\"{name}\" is not a valid label selector operator: In, NotIn, Exists, DoesNotExist"),
            };
            var values = (expression["values"] as JsonArray)?.Select(v => v!.GetValue<string>()).ToList() ?? [];
            requirements.Add(new Requirement(expression["key"]!.GetValue<string>(), op, values));
        }
        return new LabelQuery(requirements);
    }

    /// <summary>Splits on commas that are not inside parentheses.</summary>
    internal static IEnumerable<string> SplitTerms(string? selector)
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
