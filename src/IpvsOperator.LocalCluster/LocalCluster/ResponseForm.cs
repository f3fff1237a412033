using System.Net;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>What an answer is to be, read from the Accept header as upstream negotiates it: the objects, or them as meta.k8s.io asks.</summary>
internal enum ResponseKind
{
    Objects,
    Table,
    PartialObjectMetadata,
    PartialObjectMetadataList,
}

/// <summary>
/// The form of an answer a client asks for with <c>Accept: application/json;as=KIND;g=meta.k8s.io;v=v1</c>:
/// a server-side Table (<c>kubectl get</c>), or metadata only (client-go's metadata client and
/// informers: <c>PartialObjectMetadata</c> for a get or a watch's objects,
/// <c>PartialObjectMetadataList</c> for a list). The first media type of the header this server
/// can answer wins; answers are JSON, so a protobuf media type is passed over, as upstream passes
/// over what it cannot serve.
/// </summary>
internal static class ResponseForm
{
    public static ResponseKind Of(string? accept)
    {
        foreach (var mediaType in (accept ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = mediaType.Split(';', StringSplitOptions.TrimEntries);
            if (parts[0] is not ("application/json" or "application/*" or "*/*"))
            {
                continue; // protobuf, YAML, CBOR: not answered here
            }
            var parameters = parts.Skip(1).Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.Ordinal);
            if (!parameters.TryGetValue("as", out var kind))
            {
                return ResponseKind.Objects;
            }
            if (parameters.GetValueOrDefault("g") is not (null or "meta.k8s.io") || parameters.GetValueOrDefault("v") is not (null or "v1" or "v1beta1"))
            {
                continue;
            }
            switch (kind)
            {
                case "Table":
                    return ResponseKind.Table;
                case "PartialObjectMetadata":
                    return ResponseKind.PartialObjectMetadata;
                case "PartialObjectMetadataList":
                    return ResponseKind.PartialObjectMetadataList;
            }
        }
        return ResponseKind.Objects;
    }

    /// <summary>One object as PartialObjectMetadata: its metadata alone. A list asked for so is upstream's 406.</summary>
    public static JsonObject Metadata(JsonObject obj, bool isList = false)
    {
        if (isList)
        {
            throw NotAcceptable("you requested PartialObjectMetadata, but the requested object is a list");
        }
        return new JsonObject
        {
            ["kind"] = "PartialObjectMetadata",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = obj["metadata"]?.DeepClone(),
        };
    }

    /// <summary>A list as PartialObjectMetadataList: its metadata, and each item's.</summary>
    public static JsonObject MetadataList(JsonObject list) => new()
    {
        ["kind"] = "PartialObjectMetadataList",
        ["apiVersion"] = "meta.k8s.io/v1",
        ["metadata"] = list["metadata"]?.DeepClone(),
        ["items"] = new JsonArray([.. list["items"]!.AsArray().OfType<JsonObject>().Select(item => (JsonNode)Metadata(item))]),
    };

    public static ApiException NotAcceptable(string message) => new(HttpStatusCode.NotAcceptable, "NotAcceptable", message);
}
