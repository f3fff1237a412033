using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The body of a server-side apply: YAML (of which JSON, what kubectl and controller-runtime send,
/// is a part), read into JSON with YAML 1.2's core schema (plain true, 42 or null are typed; quoted
/// scalars are strings).
/// </summary>
public static class AppliedConfiguration
{
    public static async Task<JsonObject> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken);
        return Parse(text);
    }

    public static JsonObject Parse(string text)
    {
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('{'))
        {
            return JsonNode.Parse(text) as JsonObject ?? throw ApiException.BadRequest("the applied configuration must be an object");
        }
        var stream = new YamlStream();
        try
        {
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
        return ToJson(stream.Documents[0].RootNode) as JsonObject ?? throw ApiException.BadRequest("the applied configuration must be an object");
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c =>
            KeyValuePair.Create(((c.Key as YamlScalarNode)?.Value) ?? throw ApiException.BadRequest($"a YAML key must be a string, not {c.Key}"), ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw ApiException.BadRequest($"unsupported YAML node {node.NodeType}"),
    };

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
