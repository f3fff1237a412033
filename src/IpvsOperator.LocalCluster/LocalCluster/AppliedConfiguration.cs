using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The body of a server-side apply: YAML (of which JSON, what kubectl and controller-runtime send,
/// is a part), read into JSON with YAML 1.2's core schema (plain true, 42 or null are typed; quoted
/// scalars are strings).
/// </summary>
internal static class AppliedConfiguration
{
    public static JsonObject Parse(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('{'))
        {
            return JsonNode.Parse(text) as JsonObject ?? throw ApiException.BadRequest("the applied configuration must be an object");
        }
        var stream = new YamlStream();
        int written;
        try
        {
            // The nesting is measured on the parser's events first: the document model is built by recursion.
            written = CheckDepth(text);
            stream.Load(new StringReader(text));
        }
        catch (YamlException error)
        {
            throw ApiException.BadRequest($"error decoding YAML: {error.Message}");
        }
        if (stream.Documents.Count != 1)
        {
            throw ApiException.BadRequest($"the applied configuration must be one YAML document; got {stream.Documents.Count}");
        }
        // An alias is expanded where it stands: a few hundred bytes of aliases to aliases make billions of values.
        var budget = new ExpansionBudget(2 * written + 10_000);
        return ToJson(stream.Documents[0].RootNode, 1, budget) as JsonObject ?? throw ApiException.BadRequest("the applied configuration must be an object");
    }

    /// <summary>Refuses a document nested deeper than a JSON body may be; the number of nodes it writes out (aliases once each).</summary>
    private static int CheckDepth(string text)
    {
        var parser = new Parser(new StringReader(text));
        var depth = 0;
        var nodes = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case MappingStart or SequenceStart:
                    nodes++;
                    if (++depth > RequestLimits.MaxDepth)
                    {
                        throw Deep();
                    }
                    break;
                case MappingEnd or SequenceEnd:
                    depth--;
                    break;
                case YamlDotNet.Core.Events.Scalar or AnchorAlias:
                    nodes++;
                    break;
            }
        }
        return nodes;
    }

    private static ApiException Deep() => ApiException.BadRequest($"error decoding YAML: yaml: exceeded max depth of {RequestLimits.MaxDepth}");

    /// <summary>How many values a document may expand to, aliases included.</summary>
    private sealed class ExpansionBudget(int limit)
    {
        public void Spend()
        {
            if (--limit < 0)
            {
                throw ApiException.BadRequest("error decoding YAML: yaml: document contains excessive aliasing");
            }
        }
    }

    private static JsonNode? ToJson(YamlNode node, int depth, ExpansionBudget budget)
    {
        budget.Spend();
        if (depth > RequestLimits.MaxDepth && node is not YamlScalarNode)
        {
            throw Deep(); // reached through aliases, which the events do not show expanded
        }
        return node switch
        {
            YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c =>
                KeyValuePair.Create(((c.Key as YamlScalarNode)?.Value) ?? throw ApiException.BadRequest($"a YAML key must be a string, not {c.Key}"), ToJson(c.Value, depth + 1, budget)))),
            YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(c => ToJson(c, depth + 1, budget))]),
            YamlScalarNode scalar => Scalar(scalar),
            _ => throw ApiException.BadRequest($"unsupported YAML node {node.NodeType}"),
        };
    }

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? string.Empty;
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }
        return value switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            // Numbers as parsed JSON holds them, readable as any numeric type.
            _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole) => (JsonValue)JsonNode.Parse(whole.ToString(CultureInfo.InvariantCulture))!,
            _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real) => (JsonValue)JsonNode.Parse(real.ToString("R", CultureInfo.InvariantCulture))!,
            _ => JsonValue.Create(value),
        };
    }
}
