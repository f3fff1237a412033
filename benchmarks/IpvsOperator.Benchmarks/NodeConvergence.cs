using IpvsOperator.Readers;
using System.Diagnostics;
using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Node;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Generation;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// The node agent at scale: 2,000 LoadBalancer Services × 3 ports × 5 endpoints (6,000 virtual
/// services, 30,000 destinations) in LocalCluster, with their IPAllocations. Measures the time to
/// converge from a cold start, the time and kernel writes of a periodic re-sync with nothing to
/// change (writes must be 0), and the time to converge after 10% of the endpoints change.
/// Needs real IPVS for the kernel figures: <c>make bench-node</c> runs it in the kernel VM;
/// <c>... -- node memory</c> runs it on the in-memory dataplane anywhere.
/// </summary>
internal static class NodeConvergence
{
    /// <summary>The ports of every benchmark Service: 80, 81 and 82 to target ports 8080, 8081 and 8082.</summary>
    internal static readonly string[] PortNames = ["http", "https", "admin"];

    public static async Task RunAsync(DataplaneKind kind, int services = 2_000, int endpoints = 5)
    {
        await using var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { HistoryLimit = 50_000 });
        using var client = server.CreateClient();
        await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(CrdGenerator.Generate(typeof(V1Alpha1IPAllocation)));
        await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(CrdGenerator.Generate(typeof(V1Alpha1IPVSNode)));
        var clock = Stopwatch.StartNew();
        await ParallelWriters.RunAsync(services, async i => await CreateServiceAsync(client, i, endpoints));
        Console.WriteLine($"cluster: {services} Services, IPAllocations and EndpointSlices created in {clock.Elapsed.TotalSeconds:F1} s ({kind} dataplane)");

        var dataplane = NodeDataplaneFactory.Create(kind, NullLoggerFactory.Instance);
        Clear(dataplane.Ipvs);
        var reports = new List<(TimeSpan At, SyncReport Report)>();
        var agent = new NodeAgent(ApiConnection.Of(client), dataplane, new NodeAgentOptions { NodeName = "node-a", SyncPeriod = TimeSpan.FromSeconds(20) }, NullLoggerFactory.Instance);
        agent.Synced += r =>
        {
            lock (reports)
            {
                reports.Add((clock.Elapsed, r));
            }
        };
        using var stop = new CancellationTokenSource();
        clock.Restart();
        var run = Task.Run(() => agent.RunAsync(stop.Token));
        var cold = await WaitForAsync(reports, r => r.VirtualServices == services * 3 && r.Failure is null, TimeSpan.FromMinutes(10));
        var coldTime = clock.Elapsed;
        var programmed = dataplane.Ipvs.ListServices().Where(s => s.Key.Address.Family == IPFamily.IPv4 && s.Key.Address.ToString().StartsWith("198.18.", StringComparison.Ordinal)).ToList();
        var destinations = programmed.Sum(s => dataplane.Ipvs.ListDestinations(s.Key).Count);
        var memory = GC.GetTotalMemory(forceFullCollection: true);

        Console.WriteLine();
        Console.WriteLine($"| {services} Services x 3 ports x {endpoints} endpoints ({kind}) | time | kernel writes | notes |");
        Console.WriteLine("|---|---:|---:|---|");
        Console.WriteLine($"| cold start to converged (caches listed + first sync) | {coldTime.TotalSeconds:F2} s | {cold.Writes} | first sync alone {cold.Duration.TotalSeconds:F2} s ({cold.Phases}); kernel holds {programmed.Count} virtual services, {destinations} destinations |");

        // Periodic re-syncs with nothing to change: the full read-back and diff, and no write.
        var seen = Count(reports);
        for (var i = 0; i < 3; i++)
        {
            var periodic = await WaitForAsync(reports, r => r.Trigger == SyncTrigger.Periodic, TimeSpan.FromMinutes(2), after: seen);
            seen = Count(reports);
            Console.WriteLine($"| no-op periodic re-sync {i + 1} | {periodic.Duration.TotalSeconds:F2} s | {periodic.Writes} | {periodic.VirtualServices} services, {periodic.Destinations} destinations; {periodic.Phases} |");
        }

        // 10% of the endpoints change: 200 Services get 5 new endpoints each (3,000 destinations added, 3,000 drained at weight 0).
        var changed = Enumerable.Range(0, services / 10).Select(i => i * 10).ToList();
        var changeStarted = clock.Elapsed;
        var firstOfChange = Count(reports);
        await ParallelWriters.RunAsync(changed.Count, async i => await ReplaceEndpointsAsync(client, changed[i], endpoints));
        var written = clock.Elapsed - changeStarted;
        var keys = changed.SelectMany(i => Enumerable.Range(0, 3).Select(p => new VirtualServiceKey(Vip(i), IpvsProtocol.TCP, (ushort)(80 + p)))).ToList();
        // Checked after each sync (reading the kernel in a loop would compete with the agent for it).
        TimeSpan converged;
        seen = Count(reports);
        while (true)
        {
            await WaitForAsync(reports, r => r.Writes > 0, TimeSpan.FromMinutes(5), after: seen);
            seen = Count(reports);
            lock (reports)
            {
                converged = reports[seen - 1].At;
            }
            if (keys.All(k => NewEndpoints(dataplane.Ipvs, k, endpoints)))
            {
                break;
            }
        }
        lock (reports)
        {
            foreach (var (at, report) in reports.Skip(firstOfChange).Where(r => r.At <= converged))
            {
                Console.WriteLine($"|   sync ({report.Trigger}) ending at +{(at - changeStarted).TotalSeconds:F2} s | {report.Duration.TotalSeconds:F2} s | {report.Writes} | {report.Phases} |");
            }
        }
        Console.WriteLine($"| 10% of endpoints changed ({changed.Count} Services, {changed.Count * 3 * endpoints} destinations) | {(converged - changeStarted).TotalSeconds:F2} s | - | from the first API write to the kernel serving every new endpoint; the API writes took {written.TotalSeconds:F2} s |");
        Console.WriteLine($"| managed memory after converging (agent + LocalCluster) | {memory / 1024.0 / 1024.0:F0} MiB | - | process working set {Environment.WorkingSet / 1024.0 / 1024.0:F0} MiB |");

        await stop.CancelAsync();
        await run;
        Clear(dataplane.Ipvs);
    }

    private static IPAddressValue Vip(int i) => new(IPFamily.IPv4, (uint)(0xC6120000 + i)); // 198.18.0.0/15, the benchmarking range

    private static string PodAddress(int i, int e, int generation) => new IPAddressValue(IPFamily.IPv4, (uint)(0x0A800000 + (generation << 20) + i * 8 + e)).ToString();

    /// <summary>Service i, its address claimed and its endpoints published; <paramref name="shape"/> and <paramref name="slice"/> replace the defaults.</summary>
    internal static async Task CreateServiceAsync(IKubernetes client, int i, int endpoints, Func<int, V1Service>? shape = null, Func<int, V1EndpointSlice>? slice = null)
    {
        var service = await client.CoreV1.CreateNamespacedServiceAsync((shape ?? Service)(i), "default");
        var vip = Vip(i);
        await new EntityClient<V1Alpha1IPAllocation>(client).CreateAsync(new V1Alpha1IPAllocation
        {
            Metadata = new V1ObjectMeta { Name = AllocationNames.For(vip) },
            Spec = new IPAllocationSpec { Address = vip.ToString(), Pool = "bench", ServiceRef = new ServiceReference { Namespace = "default", Name = service.Metadata.Name, Uid = service.Metadata.Uid } },
        });
        await client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice?.Invoke(i) ?? Slice(i, endpoints, 0), "default");
    }

    /// <summary>Service i: a LoadBalancer of the three benchmark ports.</summary>
    internal static V1Service Service(int i) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"svc-{i}" },
        Spec = new V1ServiceSpec
        {
            Type = "LoadBalancer",
            // 6,000 node ports would not fit the 2,768 of the range; forwarding to endpoints needs none.
            AllocateLoadBalancerNodePorts = false,
            Ports = [.. PortNames.Select((name, p) => new V1ServicePort { Name = name, Port = 80 + p, TargetPort = 8080 + p, Protocol = "TCP" })],
        },
    };

    private static async Task ReplaceEndpointsAsync(IKubernetes client, int i, int endpoints)
    {
        var current = await client.DiscoveryV1.ReadNamespacedEndpointSliceAsync($"svc-{i}-abc", "default");
        var slice = Slice(i, endpoints, 1);
        slice.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
        await client.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(slice, slice.Metadata.Name, "default");
    }

    /// <summary>Service i's EndpointSlice: its endpoints on node-b, at addresses that a generation changes.</summary>
    internal static V1EndpointSlice Slice(int i, int endpoints, int generation) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"svc-{i}-abc", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = $"svc-{i}" } },
        AddressType = "IPv4",
        Ports = [.. PortNames.Select((name, p) => new Discoveryv1EndpointPort { Name = name, Port = 8080 + p, Protocol = "TCP" })],
        Endpoints = [.. Enumerable.Range(0, endpoints).Select(e => new V1Endpoint { Addresses = [PodAddress(i, e, generation)], NodeName = "node-b", Conditions = new V1EndpointConditions { Ready = true } })],
    };

    private static bool NewEndpoints(IIpvs ipvs, VirtualServiceKey key, int endpoints)
    {
        var i = (int)(key.Address.Value - Vip(0).Value);
        var serving = ipvs.ListDestinations(key).Where(d => d.Weight > 0).Select(d => d.Address.ToString()).ToHashSet();
        return Enumerable.Range(0, endpoints).All(e => serving.Contains(PodAddress(i, e, 1)));
    }

    private static int Count(List<(TimeSpan, SyncReport)> reports)
    {
        lock (reports)
        {
            return reports.Count;
        }
    }

    private static async Task<SyncReport> WaitForAsync(List<(TimeSpan At, SyncReport Report)> reports, Func<SyncReport, bool> condition, TimeSpan timeout, int after = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (reports)
            {
                if (reports.Skip(after).Select(r => r.Report).FirstOrDefault(condition) is { } found)
                {
                    return found;
                }
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("the node agent did not get there in time");
    }

    private static void Clear(IIpvs ipvs)
    {
        foreach (var service in ipvs.ListServices().Where(s => s.Key.Address.ToString().StartsWith("198.18.", StringComparison.Ordinal)))
        {
            ipvs.DeleteService(service.Key);
        }
    }
}
