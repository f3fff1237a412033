using System.Text;
using System.Text.Json;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Tests.Support;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// Drives a node's sync through a <see cref="ClusterHistory"/> against a dataplane (in memory, or
/// the kernel in the VM) and checks after every change: the kernel holds exactly the desired state
/// (and the virtual services the history itself says must exist), a second sync writes nothing,
/// and what is not ours (an IPVS service and an address of someone else's) is untouched. Each
/// change reaches the agent as its watches would deliver it (every object whose content changed,
/// and the Services of an endpoint whose health verdict flipped), and is synced by the change path
/// (only the VIPs it touched, against the agent's record); every few steps a full sync must then
/// find nothing to write, so the change path left what the full one would have. Every so often a
/// rule is deleted by hand, and the periodic re-sync must put it back. An endpoint its health check
/// holds at weight 0 must stay so, not draining, for as long as it fails and stays listed.
/// </summary>
public sealed class SyncLifecycle
{
    public static readonly IPAddressValue ForeignAddress = IPAddressValue.Parse("203.0.113.20");
    public static readonly VirtualServiceKey ForeignService = new(IPAddressValue.Parse("203.0.113.10"), IpvsProtocol.TCP, 80);
    private static readonly Destination ForeignDestination = new(IPAddressValue.Parse("10.9.9.9"), 8080, 3);

    private readonly NodeDataplane dataplane;
    private readonly ManualClock clock = new();
    private readonly KernelSync kernel;
    private readonly Random drift;
    private readonly List<string> changes = [];
    private readonly Dictionary<string, string> delivered = new(StringComparer.Ordinal);
    private ServedServices served = ServedServices.Empty;

    public SyncLifecycle(NodeDataplane dataplane, int seed)
    {
        this.dataplane = dataplane;
        drift = new Random(seed);
        History = new ClusterHistory(seed);
        kernel = new KernelSync(dataplane, new NodeAgentOptions { NodeName = ClusterHistory.Node, DrainTimeout = TimeSpan.FromSeconds(30) }, clock, NullLogger.Instance);
        dataplane.Links.EnsureDummyLink(WellKnown.BindInterface);
        dataplane.Links.AddAddress(WellKnown.BindInterface, ForeignAddress);
        dataplane.Ipvs.AddService(new VirtualService(ForeignService, "wlc"));
        dataplane.Ipvs.AddDestination(ForeignService, ForeignDestination);
        Seed = seed;
    }

    public int Seed { get; }

    public ClusterHistory History { get; }

    /// <summary>Runs <paramref name="steps"/> changes, checking every invariant after each; throws naming the seed, the step and the changes that led there.</summary>
    public void Run(int steps)
    {
        for (var step = 1; step <= steps; step++)
        {
            var change = History.Step();
            changes.Add($"{step}: {change}");
            clock.Now += History.Elapse;
            Deliver();

            SyncChanged(step, "the sync after the change");
            Check(step);
            SyncChanged(step, "a second sync", expectNoWrites: true);
            if (step % 4 == 0)
            {
                Sync(SyncTrigger.Change, step, "a full sync after the change path's", expectNoWrites: true);
            }

            if (step % 10 == 0)
            {
                var damage = Damage();
                changes.Add($"{step}: by hand: {damage}");
                Sync(SyncTrigger.Periodic, step, "the periodic re-sync after damage by hand");
                Check(step);
                Sync(SyncTrigger.Periodic, step, "a periodic re-sync with nothing to repair", expectNoWrites: true);
            }
        }
        // The end: every Service gone, nothing of ours left, the foreign rules still there.
        foreach (var name in History.View.Services.Select(s => s.Metadata.Name).ToList())
        {
            changes.Add($"end: {History.Delete(name)}");
        }
        Deliver();
        SyncChanged(steps + 1, "the sync after deleting everything");
        Check(steps + 1);
        Expect(Owned(dataplane.Ipvs.ListServices().Select(s => s.Key)).Count == 0, steps + 1, "no virtual service of ours is left once every Service is gone");
    }

    /// <summary>
    /// What the watches would deliver after a step: every claim, Service and EndpointSlice whose
    /// content changed (the history edits objects in place), put or removed; and the Services
    /// checking an endpoint whose verdict flipped, as the health checker tells the agent.
    /// </summary>
    private void Deliver()
    {
        var view = History.View;
        var now = new Dictionary<string, (object Entity, Action Put, Action Remove)>(StringComparer.Ordinal);
        foreach (var claim in view.Allocations)
        {
            now[$"claim/{claim.Metadata.Name}"] = (claim, () => kernel.Index.Put(claim), () => kernel.Index.Remove(claim));
        }
        foreach (var service in view.Services)
        {
            now[$"service/{service.Metadata.Name}"] = (service, () => kernel.Index.Put(service), () => kernel.Index.Remove(service));
        }
        foreach (var slice in view.EndpointSlices)
        {
            now[$"slice/{slice.Metadata.Name}"] = (slice, () => kernel.Index.Put(slice), () => kernel.Index.Remove(slice));
        }
        foreach (var (key, (entity, put, _)) in now)
        {
            var json = JsonSerializer.Serialize(entity, entity.GetType());
            if (delivered.GetValueOrDefault(key) != json)
            {
                put();
                delivered[key] = json;
            }
        }
        foreach (var gone in delivered.Keys.Where(k => !now.ContainsKey(k)).ToList())
        {
            // Removed by key: the index forgets what it recorded under that name.
            var (kind, name) = (gone[..gone.IndexOf('/', StringComparison.Ordinal)], gone[(gone.IndexOf('/', StringComparison.Ordinal) + 1)..]);
            switch (kind)
            {
                case "claim":
                    kernel.Index.Remove(new V1Alpha1IPAllocation { Metadata = new V1ObjectMeta { Name = name } });
                    break;
                case "service":
                    kernel.Index.Remove(new V1Service { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" } });
                    break;
                default:
                    kernel.Index.Remove(new V1EndpointSlice { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default" } });
                    break;
            }
            delivered.Remove(gone);
        }
        if (History.Flipped is { } flipped)
        {
            foreach (var (ns, name) in served.Probed.Where(p => p.Key.Address == flipped).SelectMany(p => p.Value))
            {
                kernel.Index.Changed(ns, name);
            }
        }
    }

    private void SyncChanged(int step, string what, bool expectNoWrites = false)
    {
        var report = kernel.RunChanged(() => History.View, SyncTrigger.Change, History.IsDown);
        Expect(report, step, what, expectNoWrites);
        // Only the first sync, with no record yet to diff against, may be whole.
        Expect(!report.Whole || step == 1, step, $"{what} syncs only the VIPs the change touched, not everything");
    }

    private void Sync(SyncTrigger trigger, int step, string what, bool expectNoWrites = false) =>
        Expect(kernel.Run(History.View, trigger, History.IsDown), step, what, expectNoWrites);

    private void Expect(SyncReport report, int step, string what, bool expectNoWrites)
    {
        served = report.Served ?? served;
        Expect(report.Failure is null, step, $"{what} completes; it failed: {report.Failure}");
        Expect(report.Errors == 0, step, $"{what} has no refused operation; {report.Errors} were refused");
        if (expectNoWrites)
        {
            Expect(report.Writes == 0, step, $"{what} writes nothing; it wrote {report.Writes} times");
        }
    }

    private void Check(int step)
    {
        var desired = kernel.LastDesired;
        var programmed = Owned(dataplane.Ipvs.ListServices().Select(s => s.Key));
        Expect(programmed.SetEquals(desired.Services.Keys), step,
            $"the kernel holds the desired virtual services; missing [{string.Join(", ", desired.Services.Keys.Except(programmed))}], extra [{string.Join(", ", programmed.Except(desired.Services.Keys))}]");
        var expected = History.ExpectedVirtualServices();
        Expect(programmed.SetEquals(expected), step,
            $"the kernel holds a virtual service for every port of every live claimed Service; missing [{string.Join(", ", expected.Except(programmed))}], extra [{string.Join(", ", programmed.Except(expected))}]");
        foreach (var service in dataplane.Ipvs.ListServices().Where(s => programmed.Contains(s.Key)))
        {
            var (wanted, destinations) = desired.Services[service.Key];
            Expect(service == wanted, step, $"{service.Key} is {service}, wanted {wanted}");
            var listed = dataplane.Ipvs.ListDestinations(service.Key);
            Expect(service.Scheduler != MaglevOrder.Scheduler || listed.SequenceEqual(MaglevOrder.Canonical(destinations)), step,
                $"{service.Key} (mh) lists its destinations in the canonical order, as every node does; it lists [{string.Join(", ", listed)}]");
            var actual = listed.ToHashSet();
            Expect(actual.SetEquals(destinations), step,
                $"{service.Key} has the desired destinations; missing [{string.Join(", ", destinations.Except(actual))}], extra [{string.Join(", ", actual.Except(destinations))}]");
        }
        foreach (var (key, address, port) in desired.HeldByHealthCheck)
        {
            var listed = programmed.Contains(key) ? dataplane.Ipvs.ListDestinations(key) : [];
            Expect(listed.Any(d => d.Address == address && d.Port == port && d.Weight == 0) && !kernel.IsDraining(key, address, port), step,
                $"{address}:{port} of {key}, failing its health check while listed, stays in the kernel at weight 0, not draining, however long it fails");
        }
        var bound = dataplane.Links.ListAddresses(WellKnown.BindInterface).ToHashSet();
        Expect(bound.Where(ClusterHistory.Vips.Contains).ToHashSet().SetEquals(desired.Addresses), step,
            $"the bind link carries the desired VIPs; it has [{string.Join(", ", bound)}], wanted [{string.Join(", ", desired.Addresses)}]");
        Expect(bound.Contains(ForeignAddress), step, $"the foreign address {ForeignAddress} is still on the bind link");
        Expect(dataplane.Ipvs.ListServices().Any(s => s.Key == ForeignService && s.Scheduler == "wlc"), step, $"the foreign service {ForeignService} is untouched");
        Expect(dataplane.Ipvs.ListDestinations(ForeignService).SequenceEqual([ForeignDestination]), step, $"the foreign service's destination is untouched");
        if (dataplane.Netfilter is InMemoryNetfilter netfilter)
        {
            Expect(netfilter.Masqueraded.SetEquals(desired.SourceNat), step, "the source NAT covers exactly the desired virtual services");
            Expect(netfilter.Rules.Served.SetEquals(desired.Services.Keys), step, "the VIPs let through exactly the ports of the desired virtual services");
        }
    }

    /// <summary>What a human might do to our rules: delete a destination, a service or a VIP.</summary>
    private string Damage()
    {
        var ours = Owned(dataplane.Ipvs.ListServices().Select(s => s.Key)).Order().ToList();
        if (ours.Count == 0)
        {
            return "nothing of ours to damage";
        }
        var key = ours[drift.Next(ours.Count)];
        var destinations = dataplane.Ipvs.ListDestinations(key);
        switch (drift.Next(3))
        {
            case 0 when destinations.Count > 0:
                dataplane.Ipvs.DeleteDestination(key, destinations[0].Address, destinations[0].Port);
                return $"deleted destination {destinations[0]} of {key}";
            case 1:
                dataplane.Links.RemoveAddress(WellKnown.BindInterface, key.Address);
                return $"removed {key.Address} from the bind link";
            default:
                dataplane.Ipvs.DeleteService(key);
                return $"deleted {key}";
        }
    }

    private static HashSet<VirtualServiceKey> Owned(IEnumerable<VirtualServiceKey> keys) => [.. keys.Where(k => ClusterHistory.Vips.Contains(k.Address))];

    private void Expect(bool condition, int step, string what)
    {
        if (condition)
        {
            return;
        }
        var text = new StringBuilder($"seed {Seed}, step {step}: expected {what}. The changes, last 15:\n");
        foreach (var change in changes.TakeLast(15))
        {
            text.Append("  ").AppendLine(change);
        }
        throw new AssertionException(text.ToString());
    }
}
