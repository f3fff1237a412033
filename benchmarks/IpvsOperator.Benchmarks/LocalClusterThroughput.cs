using System.Collections.Concurrent;
using System.Diagnostics;
using IpvsOperator.LocalCluster;
using k8s;
using k8s.Models;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// LocalCluster over loopback through the real KubernetesClient: writes per second with one and
/// with several concurrent writers, and the time from a write's start to its ADDED event reaching
/// each of 10 watchers. A harness that prints a table (throughput over HTTP is not a micro-benchmark).
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- localcluster</c>.
/// </summary>
internal static class LocalClusterThroughput
{
    private const int Watchers = 10;

    public static async Task RunAsync()
    {
        await using var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { HistoryLimit = 100_000 });
        using var setup = server.CreateClient();
        await setup.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "bench" } });

        // Warm up the JIT and connections.
        await WriteAsync(server, writers: 2, writes: 500, prefix: "warm");

        Console.WriteLine("| scenario | writes | seconds | writes/s |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var writers in new[] { 1, 8 })
        {
            var (count, elapsed, _) = await WriteAsync(server, writers, writes: 6_000, prefix: $"w{writers}");
            Console.WriteLine($"| create ConfigMap, {writers} writer(s) | {count} | {elapsed.TotalSeconds:F2} | {count / elapsed.TotalSeconds:F0} |");
        }

        var received = new ConcurrentDictionary<string, ConcurrentBag<long>>();
        using var cancel = new CancellationTokenSource();
        var clients = Enumerable.Range(0, Watchers).Select(_ => server.CreateClient()).ToList();
        var listVersion = (await setup.CoreV1.ListNamespacedConfigMapAsync("bench", limit: 1)).Metadata.ResourceVersion;
        var watching = clients.Select(client => Task.Run(async () =>
        {
            try
            {
                await foreach (var (type, item) in client.CoreV1.WatchListNamespacedConfigMapAsync("bench", resourceVersion: listVersion, cancellationToken: cancel.Token))
                {
                    if (type == WatchEventType.Added)
                    {
                        received.GetOrAdd(item.Metadata.Name, _ => []).Add(Stopwatch.GetTimestamp());
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Done.
            }
        })).ToList();

        var (written, watchedElapsed, started) = await WriteAsync(server, writers: 8, writes: 3_000, prefix: "lat");
        var deadline = Stopwatch.StartNew();
        while (started.Keys.Any(name => !received.TryGetValue(name, out var bag) || bag.Count < Watchers) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }
        await cancel.CancelAsync();
        await Task.WhenAll(watching);
        clients.ForEach(c => c.Dispose());

        var latencies = started.SelectMany(pair => received.GetValueOrDefault(pair.Key)?.Select(at => Stopwatch.GetElapsedTime(pair.Value, at).TotalMilliseconds) ?? [])
            .Order().ToList();
        var expected = written * Watchers;
        Console.WriteLine();
        Console.WriteLine($"| watch delivery, {Watchers} watchers, {written} creates by 8 writers ({written / watchedElapsed.TotalSeconds:F0} writes/s) | value |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| events delivered | {latencies.Count} of {expected} |");
        Console.WriteLine($"| p50 ms (write start to event received) | {Percentiles.Of(latencies, 0.50):F2} |");
        Console.WriteLine($"| p99 ms | {Percentiles.Of(latencies, 0.99):F2} |");
        Console.WriteLine($"| max ms | {(latencies.Count > 0 ? latencies[^1] : double.NaN):F2} |");
    }

    private static async Task<(int Count, TimeSpan Elapsed, ConcurrentDictionary<string, long> Started)> WriteAsync(LocalClusterServer server, int writers, int writes, string prefix)
    {
        var started = new ConcurrentDictionary<string, long>();
        var clients = Enumerable.Range(0, writers).Select(_ => server.CreateClient()).ToList();
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < writes)
            {
                var name = $"{prefix}-{index}";
                started[name] = Stopwatch.GetTimestamp();
                await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
                {
                    Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["bench"] = prefix } },
                    Data = new Dictionary<string, string> { ["index"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                }, "bench");
            }
        })));
        clock.Stop();
        clients.ForEach(c => c.Dispose());
        return (writes, clock.Elapsed, started);
    }

}
