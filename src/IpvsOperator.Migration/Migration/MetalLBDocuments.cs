using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace IpvsOperator.Migration;

/// <summary>
/// Reads the objects of one file as a GitOps repository holds them: YAML (or JSON) of any number
/// of documents, each an object or a list of them (<c>kind: List</c>, <c>IPAddressPoolList</c>).
/// Plain scalars are typed as YAML 1.2's core schema types them (true, 42, null); quoted ones are
/// strings. Pure: the caller reads the file.
/// </summary>
internal static class MetalLBDocuments
{
    public static IReadOnlyList<MetalLBObject> Parse(string file, string text)
    {
        var stream = new YamlStream();
        var parser = new DocumentCountingParser(new Parser(new StringReader(text)));
        try
        {
            stream.Load(new ExpansionLimitingParser(parser, file));
        }
        catch (Exception error) when (error is YamlException or InvalidOperationException)
        {
            // YamlDotNet fails some input ending inside a flow collection with InvalidOperationException, which has no position.
            var line = error is YamlException { Start.Line: > 0 } located ? $" (line {located.Start.Line})" : string.Empty;
            throw new MetalLBInputException($"{file} document {Math.Max(1, parser.Documents)}: not YAML{line}: {(error is YamlException ? error.Message : "it ends inside a [list] or {mapping}")}");
        }
        var objects = new List<MetalLBObject>();
        for (var index = 0; index < stream.Documents.Count; index++)
        {
            var number = index + 1;
            var root = ToJson(stream.Documents[index].RootNode, file, number);
            if (root is null)
            {
                continue; // an empty document, as a trailing --- leaves
            }
            if (root is not JsonObject item)
            {
                throw new MetalLBInputException($"{file} document {number}: a Kubernetes object is a mapping with apiVersion and kind, not {root.GetValueKind()}");
            }
            objects.AddRange(Objects(file, number, item));
        }
        return objects;
    }

    private static IEnumerable<MetalLBObject> Objects(string file, int document, JsonObject item)
    {
        var kind = Text(item["kind"]);
        if (kind is not null && kind.EndsWith("List", StringComparison.Ordinal) && item["items"] is JsonArray items)
        {
            foreach (var element in items)
            {
                if (element is not JsonObject listed)
                {
                    throw new MetalLBInputException($"{file} document {document}: an item of the {kind} is not an object");
                }
                yield return Object(file, document, listed);
            }
            yield break;
        }
        yield return Object(file, document, item);
    }

    /// <summary>One object read from a cluster (document 0: named by its kind and name alone) or from a file's document.</summary>
    internal static MetalLBObject Object(string file, int document, JsonObject item)
    {
        var apiVersion = Text(item["apiVersion"]);
        var kind = Text(item["kind"]);
        if (string.IsNullOrEmpty(apiVersion) || string.IsNullOrEmpty(kind))
        {
            throw new MetalLBInputException($"{file} document {document}: an object needs apiVersion and kind (a MetalLB one reads apiVersion: metallb.io/v1beta1, kind: IPAddressPool)");
        }
        var metadata = item["metadata"] as JsonObject;
        var name = Text(metadata?["name"]);
        if (string.IsNullOrEmpty(name))
        {
            throw new MetalLBInputException($"{file} document {document}: the {kind} has no metadata.name");
        }
        var labels = (metadata?["labels"] as JsonObject)?.Where(l => l.Value is JsonValue).ToDictionary(l => l.Key, l => l.Value!.ToString(), StringComparer.Ordinal)
            ?? new Dictionary<string, string>(StringComparer.Ordinal);
        var spec = item["spec"] switch
        {
            null => new JsonObject(),
            JsonObject given => given,
            var other => throw new MetalLBInputException($"{file} document {document}: the spec of {kind} {name} is {other.GetValueKind()}, not an object"),
        };
        return new MetalLBObject(file, document, apiVersion, kind, name, Text(metadata?["namespace"]), labels, spec);
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static JsonNode? ToJson(YamlNode node, string file, int document) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c =>
            KeyValuePair.Create((c.Key as YamlScalarNode)?.Value ?? throw new MetalLBInputException($"{file} document {document}: a key is not a string ({c.Key})"),
                ToJson(c.Value, file, document)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(c => ToJson(c, file, document))]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new MetalLBInputException($"{file} document {document}: {node.NodeType} nodes (anchors, aliases) are not read"),
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
            _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole) => JsonValue.Create(whole),
            _ => JsonValue.Create(value),
        };
    }
}
