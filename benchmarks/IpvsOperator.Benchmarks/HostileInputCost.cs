using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using IpvsOperator.LocalCluster;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// What the inputs of issue 33 cost after the repairs: LocalCluster answering long-list patches and
/// the hostile bodies of the audit over HTTP (the real client and server in this process), and the
/// agent's and the webhook's reader meeting the annotation that stopped every agent. For each: the
/// answer, the median and slowest of a few rounds, the bytes the whole process allocated per round
/// and its peak working set so far.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- hostile</c>.
/// </summary>
internal static class HostileInputCost
{
    private const int Rounds = 3;

    public static async Task RunAsync()
    {
        await using var cluster = await LocalClusterServer.StartAsync();
        using var http = cluster.CreateHttpClient();
        Console.WriteLine("| input | body | answer | median | slowest | allocated per round | peak working set |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|");

        foreach (var (ports, mediaType, label) in new[] { (3_000, "application/merge-patch+json", "merge patch"), (4_000, "application/strategic-merge-patch+json", "strategic merge patch") })
        {
            var round = 0;
            await MeasureAsync($"{label} of every port of a {ports:N0}-port Service", async () =>
            {
                var name = $"many-{ports}-{round++}";
                await SendAsync(http, HttpMethod.Post, "/api/v1/namespaces/default/services", Service(name, ports, 8000).ToJsonString(), "application/json");
                var patch = new JsonObject { ["spec"] = new JsonObject { ["ports"] = Ports(ports, 9000) } }.ToJsonString();
                return (patch.Length, await SendAsync(http, HttpMethod.Patch, $"/api/v1/namespaces/default/services/{name}", patch, mediaType));
            });
        }

        var depth = 50_000;
        var nested = $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n  annotations:\n    a: {new string('[', depth)}{new string(']', depth)}\n";
        await MeasureAsync("apply of 50,000 nested brackets", async () =>
            (nested.Length, await SendAsync(http, HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/deep?fieldManager=bench", nested, "application/apply-patch+yaml")));

        var bomb = AliasBomb();
        await MeasureAsync("YAML alias bomb (9 levels of 9 aliases)", async () =>
            (bomb.Length, await SendAsync(http, HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/bomb?fieldManager=bench", bomb, "application/apply-patch+yaml")));

        await SendAsync(http, HttpMethod.Post, "/api/v1/namespaces/default/configmaps",
            new JsonObject { ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "grows" }, ["data"] = new JsonObject { ["seed"] = new string('x', 100) } }.ToJsonString(), "application/json");
        var copies = new JsonArray([.. Enumerable.Range(0, 25).Select(i => (JsonNode)new JsonObject { ["op"] = "copy", ["from"] = "/data", ["path"] = $"/data/c{i}" })]).ToJsonString();
        await MeasureAsync("JSON patch of 25 copies of /data", async () =>
            (copies.Length, await SendAsync(http, HttpMethod.Patch, "/api/v1/namespaces/default/configmaps/grows", copies, "application/json-patch+json")));

        var service = new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "slow", NamespaceProperty = "default", Annotations = new Dictionary<string, string> { ["ipvsoperator.io/health-check"] = "tcp", ["ipvsoperator.io/health-check-interval"] = "300000000h" } },
            Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Port = 80 }] },
        };
        await MeasureAsync("annotation health-check-interval: 300000000h, read by the agent's and the webhook's reader", () =>
        {
            var (_, errors, _) = ServiceIpvsSettingsReader.Read(service);
            return Task.FromResult((0, errors.Count == 0 ? "read (no error)" : $"{errors[0].Reason}: {errors[0].FallbackMessage}"));
        }, rounds: 1_000);
    }

    private static async Task MeasureAsync(string name, Func<Task<(int Body, string Answer)>> run, int rounds = Rounds)
    {
        await run(); // warm-up
        GC.Collect();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var times = new List<double>();
        var (body, answer) = (0, string.Empty);
        for (var i = 0; i < rounds; i++)
        {
            var clock = Stopwatch.StartNew();
            (body, answer) = await run();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        var allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / rounds;
        times.Sort();
        using var process = Process.GetCurrentProcess();
        Console.WriteLine($"| {name} | {(body == 0 ? "-" : $"{body:N0} B")} | {answer} | {Time(times[rounds / 2])} | {Time(times[^1])} | {Size(allocated)} | {process.PeakWorkingSet64 / 1024.0 / 1024.0:F0} MiB |");
    }

    private static string Time(double milliseconds) => milliseconds < 1 ? $"{milliseconds * 1000:F1} µs" : $"{milliseconds:F1} ms";

    private static string Size(long bytes) => bytes < 1024 * 1024 ? $"{bytes / 1024.0:F1} KiB" : $"{bytes / 1024.0 / 1024.0:F1} MiB";

    private static async Task<string> SendAsync(HttpClient http, HttpMethod method, string path, string body, string mediaType)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8) { Headers = { ContentType = new(mediaType) } } };
        using var reply = await http.SendAsync(request);
        var answer = JsonNode.Parse(await reply.Content.ReadAsStringAsync()) as JsonObject;
        var message = answer?["kind"]?.GetValue<string>() == "Status" ? $": {answer["message"]?.GetValue<string>()}" : string.Empty;
        return $"{(int)reply.StatusCode}{(message.Length > 90 ? message[..90] + "..." : message)}";
    }

    private static JsonObject Service(string name, int ports, int targetOffset) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject { ["ports"] = Ports(ports, targetOffset) },
    };

    private static JsonArray Ports(int ports, int targetOffset) =>
        new([.. Enumerable.Range(0, ports).Select(i => (JsonNode)new JsonObject { ["name"] = $"p{i}", ["port"] = 1000 + i, ["protocol"] = "TCP", ["targetPort"] = targetOffset + i })]);

    /// <summary>Nine levels of nine aliases, about 500 bytes: 9^9 (387 million) values if expanded.</summary>
    private static string AliasBomb()
    {
        var yaml = new StringBuilder("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nb:\n  a: &a [x,x,x,x,x,x,x,x,x]\n");
        for (var level = 1; level < 9; level++)
        {
            var previous = (char)('a' + level - 1);
            var alias = $"*{previous}";
            yaml.Append(FormattableString.Invariant($"  {(char)('a' + level)}: &{(char)('a' + level)} [{string.Join(',', Enumerable.Repeat(alias, 9))}]\n"));
        }
        return yaml.ToString();
    }
}
