using System.Diagnostics;
using IpvsOperator.Addressing;
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
/// The runtime's cold start: 10,000 IPAllocations exist; time from starting the runtime to
/// having reconciled every one of them (list, cache, queue, 4 workers), and the managed memory
/// the runtime holds at that point (its cache and queue; LocalCluster's own memory is measured
/// before and left out). Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- runtime</c>.
/// </summary>
internal static class RuntimeColdStart
{
    public static async Task RunAsync(int objects = 10_000)
    {
        await using var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { HistoryLimit = 50_000 });
        using var client = server.CreateClient();
        await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(CrdGenerator.Generate(typeof(V1Alpha1IPAllocation)));
        var allocations = new EntityClient<V1Alpha1IPAllocation>(client);
        await ParallelWriters.RunAsync(objects, async i =>
        {
            var address = new IPAddressValue(IPFamily.IPv4, (uint)(0x0A000000 + i));
            await allocations.CreateAsync(new V1Alpha1IPAllocation
            {
                Metadata = new V1ObjectMeta { Name = Readers.AllocationNames.For(address) },
                Spec = new IPAllocationSpec { Address = address.ToString(), Pool = "bench", ServiceRef = new ServiceReference { Namespace = "default", Name = $"svc-{i}", Uid = $"uid-{i}" } },
            });
        });

        Console.WriteLine("| run | objects | time to all reconciled | reconciles/s | managed memory held by the runtime | process working set |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        // One cold start per process: a later one in the same process measures against a baseline that still holds the earlier cache.
        for (var run = 1; run <= 1; run++)
        {
            var (count, elapsed, held, workingSet) = await MeasureOnceAsync(client, objects);
            Console.WriteLine($"| {run} | {count} | {elapsed.TotalSeconds:F2} s | {count / elapsed.TotalSeconds:F0} | {held / 1024.0 / 1024.0:F1} MiB | {workingSet / 1024.0 / 1024.0:F0} MiB |");
        }
    }

    /// <summary>One cold start, in a method of its own so that nothing of it is reachable by the next one.</summary>
    private static async Task<(int Count, TimeSpan Elapsed, long Held, long WorkingSet)> MeasureOnceAsync(k8s.IKubernetes client, int objects)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var counter = new CountingController();
        var runtime = new OperatorRuntime(client, new LeaderElectionOptions { Enabled = false }, NullLoggerFactory.Instance)
            .AddController(() => counter);
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var running = Task.Run(() => runtime.RunAsync(stop.Token));
        while (Volatile.Read(ref counter.Count) < objects && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(5);
        }
        clock.Stop();
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        var workingSet = Environment.WorkingSet;
        await stop.CancelAsync();
        await running;
        return (counter.Count, clock.Elapsed, held, workingSet);
    }

    private sealed class CountingController : IEntityController<V1Alpha1IPAllocation>
    {
        public int Count;

        public Task<ReconcileResult> ReconcileAsync(V1Alpha1IPAllocation entity, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Count);
            return Task.FromResult(ReconcileResult.Done);
        }

        public Task DeletedAsync(V1Alpha1IPAllocation entity, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
