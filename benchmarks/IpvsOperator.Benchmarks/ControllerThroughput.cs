using System.Collections.Concurrent;
using System.Diagnostics;
using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Generation;
using IpvsOperator.Runtime.Hosting;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// The controller against LocalCluster in the same process, at a size of N LoadBalancer Services
/// (issue 37). Three measures, each a verb:
/// <list type="bullet">
/// <item><c>burst N</c>: N Services created at once by 8 writers; time until all are published,
/// time from each creation to its status (seen by a watch), API writes per allocation (counted by
/// LocalCluster), reconciles, and the process's CPU time.</item>
/// <item><c>restart N</c>: N Services published by a first controller (not measured), which stops; a
/// second one starts: time until it has listed, and until it has looked at every Service and claim
/// with nothing left queued; its writes (none expected) and reconciles per Service.</item>
/// <item><c>steady N</c>: with N published Services, 1,000 more created at a steady 100 a second;
/// p50/p99 time from creation to status.</item>
/// </list>
/// <c>all N</c> runs the three on one cluster (the burst seeds the restart and the steady pace).
/// A thrown-away burst of 500 warms the JIT first.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- controller all 2000</c>;
/// <c>controller</c> alone is <c>burst 1000</c>. The CPU time is the whole process's: the controller,
/// LocalCluster and the benchmark's clients share it.
/// </summary>
internal sealed class ControllerThroughput : IAsyncDisposable
{
    private const string Namespace = "bench";
    private const int SteadyRate = 100;
    private const int SteadyCount = 1_000;

    private readonly LocalClusterServer server;
    private readonly IKubernetes client;
    private readonly ConcurrentDictionary<string, long> published = new();
    private readonly CancellationTokenSource stopWatching = new();
    private Task watching = Task.CompletedTask;
    private int created;

    private ControllerThroughput(LocalClusterServer server)
    {
        this.server = server;
        client = server.CreateClient();
    }

    public static async Task RunAsync(string[] args)
    {
        var (measure, size) = args switch
        {
            [var verb, var n, ..] => (verb, int.Parse(n, System.Globalization.CultureInfo.InvariantCulture)),
            [var verb] => (verb, 1_000),
            _ => ("burst", 1_000),
        };
        if (measure is not ("burst" or "restart" or "steady" or "all"))
        {
            throw new ArgumentException($"controller benchmark: '{measure}' is not a measure; use burst, restart, steady or all, then the number of Services");
        }
        await WarmUpAsync();
        await using var bench = await StartAsync();
        Console.WriteLine($"load average at start: {LoadAverage()}");
        var controller = bench.StartController();
        try
        {
            await controller.ReadyAsync();
            var burst = await bench.BurstAsync(controller, size);
            if (measure is "burst" or "all")
            {
                burst.Print();
            }
            if (measure is "restart" or "all")
            {
                await controller.DisposeAsync();
                Figures restart;
                (controller, restart) = await bench.RestartAsync(size);
                restart.Print();
            }
            if (measure is "steady" or "all")
            {
                (await bench.SteadyAsync(controller, size)).Print();
            }
        }
        finally
        {
            await controller.DisposeAsync();
        }
        Console.WriteLine($"load average at end: {LoadAverage()}");
    }

    /// <summary>
    /// A burst of 500 on a cluster of its own, thrown away: every size is measured with the code
    /// compiled by the JIT's later tiers, not the first hundred Services with the first tier.
    /// </summary>
    private static async Task WarmUpAsync()
    {
        await using var bench = await StartAsync();
        await using var controller = bench.StartController();
        await controller.ReadyAsync();
        await bench.BurstAsync(controller, 500);
    }

    private static async Task<ControllerThroughput> StartAsync()
    {
        var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { HistoryLimit = 100_000 });
        var bench = new ControllerThroughput(server);
        foreach (var entity in new[] { typeof(V1Alpha1IPPool), typeof(V1Alpha1IPAllocation) })
        {
            await bench.client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(CrdGenerator.Generate(entity));
        }
        await bench.client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });
        // Room for 10,000 Services and the steady pace after them.
        await new EntityClient<V1Alpha1IPPool>(bench.client).CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = "bench" }, Spec = new IPPoolSpec { Addresses = ["10.200.0.0/16"] } });
        bench.watching = Task.Run(bench.WatchAsync);
        return bench;
    }

    private async Task WatchAsync()
    {
        using var watchClient = server.CreateClient();
        try
        {
            await foreach (var (_, service) in watchClient.CoreV1.WatchListNamespacedServiceAsync(Namespace, cancellationToken: stopWatching.Token))
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
    }

    private RunningController StartController()
    {
        var runtime = new OperatorRuntime(client, new LeaderElectionOptions { Enabled = false }, NullLoggerFactory.Instance)
            .AddLoadBalancerControllers(client, new ControllerSettings(), NullLoggerFactory.Instance);
        return new RunningController(runtime);
    }

    private Task<Figures> BurstAsync(RunningController controller, int services) =>
        MeasureCreatesAsync(controller, $"burst: {services} Services created at once by 8 writers", services, writers: 8, pace: null);

    private async Task<(RunningController, Figures)> RestartAsync(int services)
    {
        var before = Counts();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var controller = StartController();
        await controller.ReadyAsync();
        var listed = clock.Elapsed;
        // Ready: every Service and every claim looked at, nothing queued.
        await UntilAsync(() => controller.Runner("ServiceController").Reconciles >= services && controller.Runner("AllocationController").Reconciles >= services
            && controller.Runner("PoolController").Reconciles >= 1 && controller.QueuesEmpty, TimeSpan.FromMinutes(20));
        var elapsed = clock.Elapsed;
        var figures = new Figures($"restart: a new controller against {services} published Services", elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu, Counts().Since(before), controller.Looks(), services)
        {
            Listed = listed,
        };
        return (controller, figures);
    }

    private Task<Figures> SteadyAsync(RunningController controller, int existing) =>
        MeasureCreatesAsync(controller, $"steady: {SteadyCount} Services at {SteadyRate}/s beside {existing} published", SteadyCount, writers: SteadyRate,
            pace: TimeSpan.FromSeconds(1.0 / SteadyRate));

    /// <summary>Creates Services once the controller is quiet, and measures until each is published.</summary>
    private async Task<Figures> MeasureCreatesAsync(RunningController controller, string title, int count, int writers, TimeSpan? pace)
    {
        await controller.QuietAsync();
        var before = Counts();
        var looks = controller.Looks();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var creations = await CreateAsync(count, writers, pace);
        var sent = clock.Elapsed;
        await UntilAsync(() => creations.Keys.All(published.ContainsKey), TimeSpan.FromMinutes(20));
        var elapsed = clock.Elapsed;
        await controller.QuietAsync();
        var figures = new Figures(title, elapsed, Process.GetCurrentProcess().TotalProcessorTime - cpu, Counts().Since(before), controller.Looks().Since(looks), count)
        {
            Paced = pace is null ? null : sent,
        };
        figures.Latencies(creations, published);
        return figures;
    }

    /// <summary>
    /// Creates <paramref name="count"/> Services; with a pace, the i-th create starts i paces after
    /// the first (a slow answer does not hold the next back, up to <paramref name="writers"/> in flight).
    /// </summary>
    private async Task<ConcurrentDictionary<string, long>> CreateAsync(int count, int writers, TimeSpan? pace)
    {
        var creations = new ConcurrentDictionary<string, long>();
        var first = Interlocked.Add(ref created, count) - count;
        var next = -1;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            using var writer = server.CreateClient();
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                if (pace is { } every && Stopwatch.GetElapsedTime(start) < every * i)
                {
                    await Task.Delay(every * i - Stopwatch.GetElapsedTime(start));
                }
                var name = $"svc-{first + i:D5}";
                creations[name] = Stopwatch.GetTimestamp();
                await writer.CoreV1.CreateNamespacedServiceAsync(new V1Service
                {
                    Metadata = new V1ObjectMeta { Name = name },
                    // No node ports: a cluster has 2,768 of them, fewer than the Services measured.
                    Spec = new V1ServiceSpec { Type = "LoadBalancer", AllocateLoadBalancerNodePorts = false, Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }] },
                }, Namespace);
            }
        })));
        return creations;
    }

    private static async Task UntilAsync(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"the benchmark's condition did not hold within {limit}");
            }
            await Task.Delay(10);
        }
    }

    private Dictionary<string, long> Counts() => new(server.RequestCounts);

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    public async ValueTask DisposeAsync()
    {
        await stopWatching.CancelAsync();
        await watching;
        client.Dispose();
        await server.DisposeAsync();
        stopWatching.Dispose();
    }

    /// <summary>One controller instance, stopped when disposed.</summary>
    private sealed class RunningController : IAsyncDisposable
    {
        private readonly OperatorRuntime runtime;
        private readonly CancellationTokenSource stop = new();
        private readonly Task running;

        public RunningController(OperatorRuntime runtime)
        {
            this.runtime = runtime;
            running = Task.Run(() => runtime.RunAsync(stop.Token));
        }

        public bool QueuesEmpty => runtime.Controllers.All(c => c.QueueDepth == 0);

        public Task ReadyAsync() => UntilAsync(() => runtime.IsReady, TimeSpan.FromMinutes(5));

        /// <summary>Nothing queued, the pool's gathered status write included.</summary>
        public async Task QuietAsync()
        {
            await Task.Delay(AllocationTerm.PoolStatusDelay * 2);
            await UntilAsync(() => QueuesEmpty, TimeSpan.FromMinutes(5));
        }

        public IControllerStatistics Runner(string controller) =>
            runtime.Controllers.Single(c => c.Name.StartsWith(controller + "<", StringComparison.Ordinal));

        /// <summary>Reconciles each controller has finished, by its name without the type argument.</summary>
        public Dictionary<string, long> Looks() => runtime.Controllers.ToDictionary(c => c.Name.Split('<')[0], c => c.Reconciles);

        public async ValueTask DisposeAsync()
        {
            if (!stop.IsCancellationRequested)
            {
                await stop.CancelAsync();
                await running;
            }
        }
    }

    private sealed class Figures(string title, TimeSpan elapsed, TimeSpan cpu, Dictionary<string, long> requests, Dictionary<string, long> looks, int services)
    {
        private List<double> latencies = [];

        public TimeSpan? Listed { get; init; }

        public TimeSpan? Paced { get; init; }

        public void Latencies(ConcurrentDictionary<string, long> creations, ConcurrentDictionary<string, long> published) =>
            latencies = [.. creations.Select(c => Stopwatch.GetElapsedTime(c.Value, published[c.Key]).TotalMilliseconds).Order()];

        public void Print()
        {
            var writes = requests.Where(r => IsWrite(r.Key)).ToDictionary(r => r.Key, r => r.Value);
            writes.Remove("create services"); // the benchmark's own creates
            var events = writes.Where(w => w.Key.EndsWith(" events", StringComparison.Ordinal)).Sum(w => w.Value);
            var objectWrites = writes.Where(w => !w.Key.EndsWith(" events", StringComparison.Ordinal)).Sum(w => w.Value);
            Console.WriteLine();
            Console.WriteLine($"| {title} | value |");
            Console.WriteLine("|---|---:|");
            if (Listed is { } listed)
            {
                Console.WriteLine($"| seconds until listed (ready to allocate) | {listed.TotalSeconds:F2} |");
            }
            if (Paced is { } paced)
            {
                Console.WriteLine($"| seconds to send the creates (pace kept: {services / (double)SteadyRate:F0}) | {paced.TotalSeconds:F2} |");
            }
            Console.WriteLine($"| seconds until done | {elapsed.TotalSeconds:F2} |");
            Console.WriteLine($"| Services per second | {services / elapsed.TotalSeconds:F0} |");
            Console.WriteLine($"| process CPU seconds (controller, LocalCluster, clients) | {cpu.TotalSeconds:F1} |");
            Console.WriteLine($"| CPU ms per Service | {cpu.TotalMilliseconds / services:F2} |");
            if (latencies.Count > 0)
            {
                Console.WriteLine($"| p50 ms, creation to status written | {Percentiles.Of(latencies, 0.50):F1} |");
                Console.WriteLine($"| p99 ms | {Percentiles.Of(latencies, 0.99):F1} |");
            }
            Console.WriteLine($"| API writes per Service (Services, IPAllocations, IPPools) | {objectWrites / (double)services:F3} |");
            Console.WriteLine($"| Event writes per Service | {events / (double)services:F2} |");
            foreach (var (controller, count) in looks.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"| reconciles of {controller} | {count} ({count / (double)services:F2} per Service) |");
            }
            Console.WriteLine();
            Console.WriteLine("| request | count |");
            Console.WriteLine("|---|---:|");
            foreach (var (key, count) in requests.Where(w => w.Value > 0).OrderBy(w => w.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"| {key} | {count} |");
            }
        }

        private static bool IsWrite(string key) => key.Split(' ')[0] is "create" or "update" or "patch" or "delete";
    }
}

internal static class CountsDifference
{
    /// <summary>The requests served since <paramref name="before"/>, by verb and resource.</summary>
    public static Dictionary<string, long> Since(this Dictionary<string, long> after, Dictionary<string, long> before) =>
        after.Select(a => (a.Key, Count: a.Value - before.GetValueOrDefault(a.Key))).Where(a => a.Count > 0).ToDictionary(a => a.Key, a => a.Count, StringComparer.Ordinal);
}
