using System.Diagnostics;
using System.Globalization;
using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Readers;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// How the node agent's sync grows with the cluster, in memory (issue 37): at each size, LoadBalancer
/// Services × 3 ports × 5 endpoints synced cold on the in-memory kernel twin, then a periodic
/// re-sync with nothing to change (time, writes: must be 0), then one Service's endpoints replaced
/// at a time and synced as the agent syncs a change (only that Service's VIP, against its record):
/// the time from the sync's start to the twin holding the new endpoints, p50 / p99 / max over the
/// samples; and the same change synced whole, as every change was before, for comparison. The
/// watch delivery and the agent's 100 ms debounce are not in these figures.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- node-change [--services N]... [--samples K]</c>
/// (default 100, 2,000 and 10,000 Services, 300 samples).
/// </summary>
internal static class NodeChangeCost
{
    private const int Endpoints = 5;

    public static Task RunAsync(IReadOnlyList<string> args)
    {
        var sizes = new List<int>();
        var samples = 300;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--services":
                    sizes.Add(int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                case "--samples":
                    samples = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}'; valid: --services N, --samples K");
            }
        }
        if (sizes.Count == 0)
        {
            sizes = [100, 2_000, 10_000];
        }
        Console.WriteLine($"| Services | virtual services | destinations | cold sync | no-op periodic re-sync (writes) | one Service's change, p50 / p99 / max | its writes | the same change synced whole |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        var results = new List<Result>();
        // A first pass, not reported, so that the first size does not pay for the JIT's tiers.
        Measure(sizes[0], samples);
        foreach (var size in sizes)
        {
            var result = Measure(size, samples);
            results.Add(result);
            Console.WriteLine($"| {size:N0} | {result.VirtualServices:N0} | {result.Destinations:N0} | {result.Cold.TotalMilliseconds:F0} ms | {result.Periodic.TotalMilliseconds:F0} ms ({result.PeriodicWrites}) " +
                $"| {Ms(result.Change[50])} / {Ms(result.Change[99])} / {Ms(result.Change[100])} | {result.ChangeWrites} | {result.Whole.TotalMilliseconds:F0} ms |");
        }
        if (results.Count > 1)
        {
            var (first, last) = (results[0], results[^1]);
            Console.WriteLine();
            Console.WriteLine($"| cost | {string.Join(" | ", results.Select(r => $"{r.Services:N0}"))} | {last.Services:N0} / {first.Services:N0} |");
            Console.WriteLine($"|---|{string.Concat(results.Select(_ => "---:|"))}---:|");
            Row("one Service's change, p99", r => r.Change[99].TotalMilliseconds);
            Row("one Service's change, p50", r => r.Change[50].TotalMilliseconds);
            Row("one Service's change, CPU (mean)", r => r.ChangeCpu.TotalMilliseconds);
            Row("no-op periodic re-sync", r => r.Periodic.TotalMilliseconds);
            Row("no-op periodic re-sync, CPU", r => r.PeriodicCpu.TotalMilliseconds);
            Row("the same change synced whole", r => r.Whole.TotalMilliseconds);
            Row("cold sync", r => r.Cold.TotalMilliseconds);

            void Row(string cost, Func<Result, double> of) =>
                Console.WriteLine($"| {cost} | {string.Join(" | ", results.Select(r => $"{of(r):F2} ms"))} | {of(last) / of(first):F1} |");
        }
        return Task.CompletedTask;
    }

    private static string Ms(TimeSpan time) => $"{time.TotalMilliseconds:F2} ms";

    private sealed record Result(int Services, int VirtualServices, int Destinations, TimeSpan Cold, TimeSpan Periodic, int PeriodicWrites,
        Dictionary<int, TimeSpan> Change, int ChangeWrites, TimeSpan Whole)
    {
        /// <summary>The process's CPU time (every thread: the GC's too) over the best no-op re-sync.</summary>
        public TimeSpan PeriodicCpu { get; init; }

        /// <summary>The process's CPU time per one-Service change, on average: what a busy machine's wall times hide.</summary>
        public TimeSpan ChangeCpu { get; init; }
    }

    private static Result Measure(int size, int samples)
    {
        var cluster = new Cluster(size);
        var dataplane = NodeDataplaneFactory.InMemory();
        dataplane.Links.EnsureDummyLink(WellKnown.BindInterface);
        var kernel = new KernelSync(dataplane, new NodeAgentOptions { NodeName = "node-a" }, TimeProvider.System, NullLogger.Instance);

        var started = Stopwatch.GetTimestamp();
        var cold = kernel.Run(cluster.View, SyncTrigger.Periodic);
        var coldTime = Stopwatch.GetElapsedTime(started);
        Require(cold.Failure is null && cold.VirtualServices == size * 3, $"the cold sync programmed {cold.VirtualServices} virtual services ({cold.Failure?.Message})");

        // The best of three no-op periodic re-syncs (the first after a cold start may still meet the JIT).
        var periodic = Enumerable.Range(0, 3).Select(_ =>
        {
            var (at, cpu) = (Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime);
            var report = kernel.Run(cluster.View, SyncTrigger.Periodic);
            return (Time: Stopwatch.GetElapsedTime(at), report.Writes, report.Phases, Cpu: Environment.CpuUsage.TotalTime - cpu);
        }).ToList();

        var random = new Random(size);
        var times = new List<TimeSpan>(samples);
        var writes = 0;
        var changeCpu = TimeSpan.Zero;
        for (var sample = 0; sample < samples + 20; sample++)
        {
            var i = random.Next(size);
            kernel.Index.Put(cluster.Replace(i));
            var (at, cpu) = (Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime);
            var report = kernel.RunChanged(() => cluster.View, SyncTrigger.Change);
            var time = Stopwatch.GetElapsedTime(at);
            cpu = Environment.CpuUsage.TotalTime - cpu;
            Require(!report.Whole && report.Errors == 0, $"a change was synced whole or refused ({report.Errors} errors)");
            Require(cluster.Serves(dataplane.Ipvs, i), $"Service {i}'s new endpoints are not in the kernel twin after its sync");
            if (sample >= 20)
            {
                // The first 20 warm the JIT's tiers up; they are not counted.
                times.Add(time);
                writes = report.Writes;
                changeCpu += cpu;
            }
        }
        times.Sort();

        // The same one-Service change synced whole, as the agent synced every change before.
        var changed = random.Next(size);
        kernel.Index.Put(cluster.Replace(changed));
        var wholeAt = Stopwatch.GetTimestamp();
        kernel.Run(cluster.View, SyncTrigger.Change);
        var whole = Stopwatch.GetElapsedTime(wholeAt);
        Require(cluster.Serves(dataplane.Ipvs, changed), "the whole sync did not program the change");

        var best = periodic.MinBy(p => p.Time);
        Console.Error.WriteLine($"{size} Services: best no-op periodic re-sync {best.Time.TotalMilliseconds:F0} ms, {best.Cpu.TotalMilliseconds:F0} ms of CPU ({best.Phases}); " +
            $"one Service's change {changeCpu.TotalMilliseconds / samples:F2} ms of CPU on average");
        return new Result(size, cold.VirtualServices, cold.Destinations, coldTime, best.Time, periodic.Max(p => p.Writes),
            new Dictionary<int, TimeSpan> { [50] = Percentile(times, 50), [99] = Percentile(times, 99), [100] = times[^1] }, writes, whole)
        {
            PeriodicCpu = best.Cpu,
            ChangeCpu = changeCpu / samples,
        };
    }

    private static TimeSpan Percentile(List<TimeSpan> sorted, int percent) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(sorted.Count * percent / 100.0) - 1)];

    private static void Require(bool condition, string problem)
    {
        if (!condition)
        {
            throw new InvalidOperationException(problem);
        }
    }

    /// <summary>The Services, their claims and EndpointSlices, as the agent's caches would hold them; each Service's endpoints can be replaced by a new generation.</summary>
    private sealed class Cluster
    {
        private readonly List<V1Service> services = [];
        private readonly List<V1Alpha1IPAllocation> claims = [];
        private readonly V1EndpointSlice[] slices;
        private readonly int[] generation;

        public Cluster(int size)
        {
            slices = new V1EndpointSlice[size];
            generation = new int[size];
            for (var i = 0; i < size; i++)
            {
                var service = NodeConvergence.Service(i);
                service.Metadata.NamespaceProperty = "default";
                service.Metadata.Uid = Guid.NewGuid().ToString();
                services.Add(service);
                var vip = Vip(i);
                claims.Add(new V1Alpha1IPAllocation
                {
                    Metadata = new V1ObjectMeta { Name = AllocationNames.For(vip) },
                    Spec = new IPAllocationSpec { Address = vip.ToString(), Pool = "bench", ServiceRef = new ServiceReference { Namespace = "default", Name = service.Metadata.Name, Uid = service.Metadata.Uid } },
                });
                slices[i] = Slice(i);
            }
        }

        public ClusterView View => new(claims, services, slices, []);

        /// <summary>Service i's EndpointSlice with every endpoint new (5 added, 5 drained).</summary>
        public V1EndpointSlice Replace(int i)
        {
            generation[i]++;
            return slices[i] = Slice(i);
        }

        /// <summary>Whether the kernel serves Service i's current endpoints on each of its ports.</summary>
        public bool Serves(IIpvs ipvs, int i)
        {
            var wanted = slices[i].Endpoints.Select(e => e.Addresses[0]).ToHashSet();
            return Enumerable.Range(0, 3).All(p =>
                wanted.IsSubsetOf(ipvs.ListDestinations(new VirtualServiceKey(Vip(i), IpvsProtocol.TCP, (ushort)(80 + p))).Where(d => d.Weight > 0).Select(d => d.Address.ToString())));
        }

        private V1EndpointSlice Slice(int i)
        {
            var slice = NodeConvergence.Slice(i, Endpoints, generation[i] % 8);
            slice.Metadata.NamespaceProperty = "default";
            return slice;
        }

        private static IPAddressValue Vip(int i) => new(IPFamily.IPv4, (uint)(0xC6120000 + i)); // 198.18.0.0/15, the benchmarking range
    }
}
