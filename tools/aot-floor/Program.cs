using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;
using Prometheus;

// What a Native AOT node agent costs before its own work: it lists and watches what the agent with
// --announce none watches (IPAllocations, Services, EndpointSlices, IPPools) into caches and serves
// /readyz and /metrics with Kestrel, as the agent does. No desired state, no IPVS table, no
// election: the footprint benchmark compares this floor with the agent (docs/benchmarks.md).
//
// Usage: aot-floor --kubeconfig FILE --metrics-port PORT
var kubeconfig = Argument("--kubeconfig");
var port = int.Parse(Argument("--metrics-port"), System.Globalization.CultureInfo.InvariantCulture);
var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);

// Not k8s.Kubernetes: its constructor roots KubernetesClient.Aot's JSON metadata for every API
// type (12 MiB more binary, 20 MiB more RSS). The agent reads five kinds; it needs theirs only.
var handler = new SocketsHttpHandler();
if (config.SslCaCerts is { Count: > 0 } authorities)
{
    handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return certificate is not null && chain.Build(new X509Certificate2(certificate));
    };
}
using var http = new HttpClient(handler) { BaseAddress = new Uri(config.Host.TrimEnd('/') + "/"), Timeout = Timeout.InfiniteTimeSpan };
if (config.AccessToken is { } token)
{
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
}

var events = Metrics.CreateCounter("floor_watch_events_total", "Watch events applied to the caches.");
var watches = new[]
{
    Watch("apis/ipvsoperator.io/v1alpha1/ipallocations", FloorJson.Default.JsonElement),
    Watch("api/v1/services", FloorJson.Default.V1Service),
    Watch("apis/discovery.k8s.io/v1/endpointslices", FloorJson.Default.V1EndpointSlice),
    Watch("apis/ipvsoperator.io/v1alpha1/ippools", FloorJson.Default.JsonElement),
};

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port));
var app = builder.Build();
app.MapGet("/readyz", () => watches.All(w => w.Synced.IsCompletedSuccessfully)
    ? Results.Text(string.Join(", ", watches.Select(w => $"{w.Cache.Count} {w.Path}")))
    : Results.StatusCode(503));
app.MapMetrics();
await app.RunAsync();

string Argument(string name) =>
    args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? throw new ArgumentException($"{name} is required; usage: aot-floor --kubeconfig FILE --metrics-port PORT");

CachedWatch Watch<T>(string path, JsonTypeInfo<T> type)
{
    var cache = new ConcurrentDictionary<string, object>(StringComparer.Ordinal);
    var synced = new TaskCompletionSource();
    _ = Task.Run(async () =>
    {
        try
        {
            using var list = JsonDocument.Parse(await http.GetStringAsync(path));
            foreach (var item in list.RootElement.GetProperty("items").EnumerateArray())
            {
                cache[Key(item)] = item.Deserialize(type)!;
            }
            var version = list.RootElement.GetProperty("metadata").GetProperty("resourceVersion").GetString();
            synced.SetResult();
            using var response = await http.GetAsync($"{path}?watch=1&allowWatchBookmarks=true&resourceVersion={version}", HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.EnsureSuccessStatusCode().Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                using var change = JsonDocument.Parse(line);
                var item = change.RootElement.GetProperty("object");
                switch (change.RootElement.GetProperty("type").GetString())
                {
                    case "DELETED":
                        cache.TryRemove(Key(item), out _);
                        break;
                    case "ADDED" or "MODIFIED":
                        cache[Key(item)] = item.Deserialize(type)!;
                        break;
                }
                events.Inc();
            }
        }
        catch (Exception error) when (!synced.Task.IsCompleted)
        {
            synced.SetException(error);
        }
    });
    return new CachedWatch(path, cache, synced.Task);
}

static string Key(JsonElement item)
{
    var metadata = item.GetProperty("metadata");
    return (metadata.TryGetProperty("namespace", out var ns) ? ns.GetString() + "/" : string.Empty) + metadata.GetProperty("name").GetString();
}

internal sealed record CachedWatch(string Path, ConcurrentDictionary<string, object> Cache, Task Synced);

/// <summary>Source-generated JSON for the kinds the agent reads: no reflection, so Native AOT keeps only these.</summary>
[JsonSerializable(typeof(V1Service))]
[JsonSerializable(typeof(V1EndpointSlice))]
[JsonSerializable(typeof(JsonElement))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class FloorJson : JsonSerializerContext;
