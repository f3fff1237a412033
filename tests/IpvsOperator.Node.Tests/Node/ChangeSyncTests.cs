using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Readers;
using IpvsOperator.Tests.Support;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// The sync after a change rebuilds only the VIPs the change touched, against the agent's record of
/// what it applied; what it cannot know (an event the index missed, or got after a newer one) is
/// repaired by the periodic re-sync, which reads the cluster and the kernel whole.
/// </summary>
public class ChangeSyncTests
{
    private NodeDataplane dataplane = null!;
    private KernelSync kernel = null!;
    private ManualClock clock = null!;
    private readonly Dictionary<string, V1Service> services = [];
    private readonly Dictionary<string, V1EndpointSlice> slices = [];
    private readonly List<V1Alpha1IPAllocation> claims = [];

    private ClusterView View => new([.. claims], [.. services.Values], [.. slices.Values], []);

    [SetUp]
    public void ThreeServicesSynced()
    {
        dataplane = NodeDataplaneFactory.InMemory();
        dataplane.Links.EnsureDummyLink(WellKnown.BindInterface);
        clock = new ManualClock();
        kernel = new KernelSync(dataplane, new NodeAgentOptions { NodeName = "node-a", DrainTimeout = TimeSpan.FromSeconds(30) }, clock, NullLogger.Instance);
        foreach (var (name, i) in new[] { ("svc-a", 1), ("svc-b", 2), ("svc-c", 3) })
        {
            var service = new V1Service
            {
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = Guid.NewGuid().ToString() },
                Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Name = "http", Protocol = "TCP", Port = 80, TargetPort = 8080 }] },
            };
            services[name] = service;
            claims.Add(new V1Alpha1IPAllocation
            {
                Metadata = new V1ObjectMeta { Name = AllocationNames.For(Vip(i)) },
                Spec = new IPAllocationSpec { Address = Vip(i).ToString(), Pool = "pool", ServiceRef = new ServiceReference { Namespace = "default", Name = name, Uid = service.Metadata.Uid } },
            });
            slices[name] = Slice(name, $"10.0.{i}.1");
        }
        kernel.Run(View, SyncTrigger.Periodic).Failure.Should().BeNull();
    }

    private static IPAddressValue Vip(int i) => IPAddressValue.Parse($"198.51.100.{i}");

    private static VirtualServiceKey Key(int i) => new(Vip(i), IpvsProtocol.TCP, 80);

    private static V1EndpointSlice Slice(string service, string endpoint) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"{service}-abcde", NamespaceProperty = "default", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service } },
        AddressType = "IPv4",
        Ports = [new Discoveryv1EndpointPort { Name = "http", Protocol = "TCP", Port = 8080 }],
        Endpoints = [new V1Endpoint { Addresses = [endpoint], NodeName = "node-b", Conditions = new V1EndpointConditions { Ready = true } }],
    };

    private IEnumerable<string> Serving(int i) => dataplane.Ipvs.ListDestinations(Key(i)).Where(d => d.Weight > 0).Select(d => d.Address.ToString());

    [Test]
    public void A_change_syncs_only_its_own_VIP_and_leaves_the_others_untouched()
    {
        slices["svc-b"] = Slice("svc-b", "10.0.2.9");
        kernel.Index.Put(slices["svc-b"]);

        var report = kernel.RunChanged(() => View, SyncTrigger.Change);

        report.Whole.Should().BeFalse("one EndpointSlice changed: only its Service's VIP is rebuilt");
        report.VipsSynced.Should().Be(1);
        report.Writes.Should().Be(2, "the new endpoint added, the old one drained at weight 0");
        Serving(2).Should().Equal("10.0.2.9");
        report.VirtualServices.Should().Be(3, "the report counts what the node serves, not only what changed");
    }

    [Test]
    public void An_endpoint_held_at_weight_0_by_its_health_check_stays_through_change_and_periodic_syncs_and_drains_once_it_leaves()
    {
        services["svc-b"].Metadata.Annotations = new Dictionary<string, string> { [WellKnown.Annotations.HealthCheck] = "tcp" };
        var slice = Slice("svc-b", "10.0.2.1");
        slice.Endpoints.Add(new V1Endpoint { Addresses = ["10.0.2.2"], NodeName = "node-b", Conditions = new V1EndpointConditions { Ready = true } });
        slices["svc-b"] = slice;
        kernel.Index.Put(services["svc-b"]);
        kernel.Index.Put(slice);
        var failing = IPAddressValue.Parse("10.0.2.2");
        bool IsDown(IpvsOperator.Node.Health.ProbeTarget target) => target.Address == failing;
        string Table() => string.Join(" ", dataplane.Ipvs.ListDestinations(Key(2)).OrderBy(d => d.Address).Select(d => $"{d.Address}/{d.Weight}"));

        kernel.RunChanged(() => View, SyncTrigger.Change, IsDown).Whole.Should().BeFalse();
        Table().Should().Be("10.0.2.1/1 10.0.2.2/0");
        kernel.IsDraining(Key(2), failing, 8080).Should().BeFalse("held by its health check, not draining");
        kernel.NextDrainExpiry.Should().BeNull("nothing drains, so no sync is due to remove it");

        clock.Now += TimeSpan.FromMinutes(5);
        kernel.Index.Changed("default", "svc-b");
        kernel.RunChanged(() => View, SyncTrigger.Change, IsDown).Writes.Should().Be(0, "a change sync long past the drain timeout keeps it");
        kernel.Run(View, SyncTrigger.Periodic, IsDown).Writes.Should().Be(0, "and so does the periodic re-sync");
        Table().Should().Be("10.0.2.1/1 10.0.2.2/0");

        slices["svc-b"] = Slice("svc-b", "10.0.2.1");
        kernel.Index.Put(slices["svc-b"]);
        kernel.RunChanged(() => View, SyncTrigger.Change, IsDown);
        kernel.IsDraining(Key(2), failing, 8080).Should().BeTrue("once it leaves its Service it drains");
        Table().Should().Be("10.0.2.1/1 10.0.2.2/0");
        clock.Now += TimeSpan.FromSeconds(30);
        kernel.RunChanged(() => View, SyncTrigger.Change, IsDown).Whole.Should().BeFalse();
        Table().Should().Be("10.0.2.1/1", "and goes when its drain runs out");
    }

    [Test]
    public void A_missed_event_is_repaired_by_the_periodic_re_sync()
    {
        // svc-a's new endpoints never reach the index (a lost event); svc-b's do.
        slices["svc-a"] = Slice("svc-a", "10.0.1.9");
        slices["svc-b"] = Slice("svc-b", "10.0.2.9");
        kernel.Index.Put(slices["svc-b"]);

        kernel.RunChanged(() => View, SyncTrigger.Change).Whole.Should().BeFalse();
        Serving(2).Should().Equal("10.0.2.9");
        Serving(1).Should().Equal(["10.0.1.1"], "the change path knows only what it was told");

        var periodic = kernel.Run(() => View, SyncTrigger.Periodic);

        periodic.Writes.Should().BeGreaterThan(0);
        Serving(1).Should().Equal(["10.0.1.9"], "the periodic re-sync reads the cluster whole");
        // The index was repaired too: a later change of svc-a itself does not bring the lost state back.
        services["svc-a"].Metadata.Labels = new Dictionary<string, string> { ["tier"] = "web" };
        kernel.Index.Put(services["svc-a"]);
        kernel.RunChanged(() => View, SyncTrigger.Change).Whole.Should().BeFalse();
        Serving(1).Should().Equal("10.0.1.9");
        kernel.Run(() => View, SyncTrigger.Periodic).Writes.Should().Be(0, "the change path and the full sync agree again");
    }

    [Test]
    public void An_event_delivered_after_a_newer_one_is_repaired_by_the_periodic_re_sync()
    {
        var older = Slice("svc-a", "10.0.1.5");
        var newer = Slice("svc-a", "10.0.1.9");
        slices["svc-a"] = newer;
        kernel.Index.Put(newer);
        kernel.Index.Put(older); // out of order: the index now holds a state the cluster left

        kernel.RunChanged(() => View, SyncTrigger.Change);
        Serving(1).Should().Equal(["10.0.1.5"], "the change path applies what it was told last");

        kernel.Run(() => View, SyncTrigger.Periodic);

        Serving(1).Should().Equal(["10.0.1.9"], "the periodic re-sync applies what the cluster holds");
    }

    [Test]
    public void A_node_wide_change_syncs_everything()
    {
        kernel.Index.ChangedWhole();

        var report = kernel.RunChanged(() => View, SyncTrigger.Change);

        report.Whole.Should().BeTrue("a node or a pool may change every VIP's part");
        report.Writes.Should().Be(0);
    }

    [Test]
    public void A_VIP_whose_claim_moves_is_unbound_and_the_new_one_bound()
    {
        var claim = claims[0];
        var moved = new V1Alpha1IPAllocation { Metadata = claim.Metadata, Spec = new IPAllocationSpec { Address = Vip(9).ToString(), Pool = "pool", ServiceRef = claim.Spec.ServiceRef } };
        claims[0] = moved;
        kernel.Index.Put(moved);

        kernel.RunChanged(() => View, SyncTrigger.Change).Whole.Should().BeFalse();

        dataplane.Links.ListAddresses(WellKnown.BindInterface).Should().Contain(Vip(9)).And.NotContain(Vip(1));
        dataplane.Ipvs.ListServices().Select(s => s.Key).Should().Contain(Key(9)).And.NotContain(Key(1));
        kernel.Run(() => View, SyncTrigger.Periodic).Writes.Should().Be(0);
    }

    [Test]
    public void A_re_sync_that_changes_nothing_keeps_one_copy_of_each_VIP_and_a_change_replaces_only_its_own()
    {
        var before = Enumerable.Range(1, 3).Select(i => kernel.ProgrammedOn(Vip(i))!.Programmed).ToList();

        kernel.Run(() => View, SyncTrigger.Periodic).Writes.Should().Be(0);
        slices["svc-b"] = Slice("svc-b", "10.0.2.9");
        kernel.Index.Put(slices["svc-b"]);
        kernel.RunChanged(() => View, SyncTrigger.Change).Whole.Should().BeFalse();
        kernel.Run(() => View, SyncTrigger.Periodic);

        // At 10,000 Services every full sync builds 150,000 destinations anew: an agent that kept
        // the new copy of what did not change would hold two (and the GC a third) where one does.
        kernel.ProgrammedOn(Vip(1))!.Programmed.Should().BeSameAs(before[0], "nothing of svc-a changed in three syncs");
        kernel.ProgrammedOn(Vip(3))!.Programmed.Should().BeSameAs(before[2]);
        var changed = kernel.ProgrammedOn(Vip(2))!.Programmed;
        changed.Should().NotBeSameAs(before[1]);
        changed.Services[Key(2)].Destinations.Select(d => (d.Address.ToString(), d.Weight)).Should().BeEquivalentTo([("10.0.2.9", 1u), ("10.0.2.1", 0u)]);
    }
}
