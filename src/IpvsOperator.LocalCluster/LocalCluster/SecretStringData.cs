using System.Text;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A Secret's <c>stringData</c> is write-only: the API server folds each value into <c>data</c>,
/// base64-encoded and winning over a key of the same name, and stores no <c>stringData</c>
/// (upstream does it when it converts v1 to its internal type). Without it, a Secret written with
/// <c>stringData</c> would look empty to every client that reads <c>data</c>.
/// </summary>
internal static class SecretStringData
{
    public static void Fold(JsonObject secret)
    {
        if (secret["stringData"] is not JsonObject strings)
        {
            secret.Remove("stringData");
            return;
        }
        var data = secret["data"] as JsonObject ?? new JsonObject();
        foreach (var (key, value) in strings)
        {
            var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : value?.ToJsonString() ?? string.Empty;
            data[key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        }
        secret["data"] = data;
        secret.Remove("stringData");
    }
}
