using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A list's continue token, shaped as the API server's: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"key"}.
/// A token that does not decode is a 400; one from before the history's oldest revision is a 410.
/// </summary>
internal static class ContinueToken
{
    public static string Make(long revision, string start) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(new JsonObject { ["v"] = "meta.k8s.io/v1", ["rv"] = revision, ["start"] = start }.ToJsonString()));

    public static (long Revision, string Start) Parse(string token)
    {
        try
        {
            var json = JsonNode.Parse(Convert.FromBase64String(token)) as JsonObject;
            if (json?["v"]?.GetValue<string>() == "meta.k8s.io/v1" && json["rv"]?.GetValue<long>() is > 0 and var revision && json["start"]?.GetValue<string>() is { Length: > 0 } start)
            {
                return (revision, start);
            }
        }
        catch (Exception error) when (error is FormatException or JsonException or InvalidOperationException)
        {
            // not a token of ours: refused below
        }
        throw ApiException.BadRequest(string.Create(CultureInfo.InvariantCulture, $"continue key is not valid: \"{token}\" is not a continue token of this server; use the one of the previous page"));
    }
}
