using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// What one request may cost, as kube-apiserver bounds it: a write body of at most 3 MiB
/// (<c>--max-request-body-bytes</c>), objects nested at most as deep as System.Text.Json reads
/// them here (64 levels; upstream's decoders allow 10,000), JSON patches of at most 10,000
/// operations whose copies add at most the body limit.
/// </summary>
internal static class RequestLimits
{
    public const int MaxBodyBytes = 3 * 1024 * 1024;

    /// <summary>System.Text.Json's default depth, which every JSON body here is read with: YAML is held to the same.</summary>
    public const int MaxDepth = 64;

    public const int MaxJsonPatchOperations = 10_000;

    /// <summary>The body, read to its end unless it passes the limit: 413 RequestEntityTooLarge, as upstream.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            throw TooLarge();
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw TooLarge();
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private static ApiException TooLarge() =>
        new(HttpStatusCode.RequestEntityTooLarge, "RequestEntityTooLarge", $"Request entity too large: limit is {MaxBodyBytes}");

    /// <summary>How deep <paramref name="node"/> nests (a scalar: 0), found without recursion, so any depth can be measured.</summary>
    public static int DepthOf(JsonNode? node)
    {
        var deepest = 0;
        var pending = new Stack<(JsonNode Node, int Depth)>();
        if (node is JsonObject or JsonArray)
        {
            pending.Push((node, 1));
        }
        while (pending.TryPop(out var current))
        {
            deepest = Math.Max(deepest, current.Depth);
            var children = current.Node is JsonObject obj ? obj.Select(p => p.Value) : current.Node.AsArray();
            foreach (var child in children)
            {
                if (child is JsonObject or JsonArray)
                {
                    pending.Push((child, current.Depth + 1));
                }
            }
        }
        return deepest;
    }
}
