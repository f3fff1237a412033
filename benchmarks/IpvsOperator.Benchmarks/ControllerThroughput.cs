using System.Collections.Concurrent;
using System.Diagnostics;
using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Generation;
using IpvsOperator.Runtime.Hosting;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// The controller allocating for 1,000 LoadBalancer Services created at once (8 writers) against
/// LocalCluster in the same process: allocations per second, time from each Service's creation to
/// its status carrying the address (seen by a watch), and API writes per allocation, counted by
/// LocalCluster. Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- controller</c>.
/// </summary>
internal static class ControllerThroughput
{
    public static async Task RunAsync(int services = 1_000)
    {
        await using var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { HistoryLimit = 100_000 });
        using var client = server.CreateClient();
        foreach (var entity in new[] { typeof(V1Alpha1IPPool), typeof(V1Alpha1IPAllocation) })
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(CrdGenerator.Generate(entity));
        }
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "bench" } });
        await new EntityClient<V1Alpha1IPPool>(client).CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = "bench" }, Spec = new IPPoolSpec { Addresses = ["10.200.0.0/20"] } });

        using var stop = new CancellationTokenSource();
        var runtime = new OperatorRuntime(client, new LeaderElectionOptions { Enabled = false }, NullLoggerFactory.Instance)
            .AddLoadBalancerControllers(client, new ControllerSettings(), NullLoggerFactory.Instance);
        var running = Task.Run(() => runtime.RunAsync(stop.Token));
        while (!runtime.IsReady)
        {
            await Task.Delay(10);
        }

        var published = new ConcurrentDictionary<string, long>();
        using var watchClient = server.CreateClient();
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var (_, service) in watchClient.CoreV1.WatchListNamespacedServiceAsync("bench", cancellationToken: stop.Token))
                {
                    if (service.Status?.LoadBalancer?.Ingress is { Count: > 0 })
                    {
                        published.TryAdd(service.Metadata.Name, Stopwatch.GetTimestamp());
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Done.
            }
        });

        var before = Snapshot(server);
        var looksBefore = Looks(runtime);
        var created = new ConcurrentDictionary<string, long>();
        var clock = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            using var writer = server.CreateClient();
            int i;
            while ((i = Interlocked.Increment(ref next)) < services)
            {
                var name = $"svc-{i:D4}";
                created[name] = Stopwatch.GetTimestamp();
                await writer.CoreV1.CreateNamespacedServiceAsync(new V1Service
                {
                    Metadata = new V1ObjectMeta { Name = name },
                    Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }] },
                }, "bench");
            }
        })));
        while (published.Count < services && clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            await Task.Delay(10);
        }
        clock.Stop();
        var after = Snapshot(server);
        var looks = Looks(runtime).ToDictionary(l => l.Key, l => l.Value - looksBefore.GetValueOrDefault(l.Key));
        await stop.CancelAsync();
        await Task.WhenAll(running, watching);

        var latencies = created.Where(c => published.ContainsKey(c.Key)).Select(c => Stopwatch.GetElapsedTime(c.Value, published[c.Key]).TotalMilliseconds).Order().ToList();
        var writes = after.Where(p => IsWrite(p.Key)).ToDictionary(p => p.Key, p => p.Value - before.GetValueOrDefault(p.Key));
        writes.Remove("create services"); // the benchmark's own creates
        var events = writes.Where(w => w.Key.EndsWith(" events", StringComparison.Ordinal)).Sum(w => w.Value);
        var objectWrites = writes.Where(w => !w.Key.EndsWith(" events", StringComparison.Ordinal)).Sum(w => w.Value);

        Console.WriteLine($"| {services} Services, 8 writers | value |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| addresses published | {published.Count} |");
        Console.WriteLine($"| seconds from first create to last status | {clock.Elapsed.TotalSeconds:F2} |");
        Console.WriteLine($"| allocations per second | {published.Count / clock.Elapsed.TotalSeconds:F0} |");
        Console.WriteLine($"| p50 ms, creation to status written | {Percentiles.Of(latencies, 0.50):F1} |");
        Console.WriteLine($"| p99 ms | {Percentiles.Of(latencies, 0.99):F1} |");
        Console.WriteLine($"| API writes per allocation (Services, IPAllocations, IPPools) | {objectWrites / (double)published.Count:F2} |");
        Console.WriteLine($"| Event writes per allocation | {events / (double)published.Count:F2} |");
        foreach (var (controller, count) in looks.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"| reconciles of {controller} | {count} |");
        }
        Console.WriteLine();
        Console.WriteLine("| write | count |");
        Console.WriteLine("|---|---:|");
        foreach (var (key, count) in writes.Where(w => w.Value > 0).OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"| {key} | {count} |");
        }
    }

    private static Dictionary<string, long> Snapshot(LocalClusterServer server) => new(server.RequestCounts);

    /// <summary>Reconciles each controller has finished, by its runner's name.</summary>
    private static Dictionary<string, long> Looks(OperatorRuntime runtime) => runtime.Controllers.ToDictionary(c => c.Name, c => c.Reconciles);

    private static bool IsWrite(string key) => key.Split(' ')[0] is "create" or "update" or "patch" or "delete";

}
