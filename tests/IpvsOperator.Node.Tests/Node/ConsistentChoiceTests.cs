using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Readers;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// Every node that serves a VIP of a pool with consistent hashing picks the same backend for a flow:
/// mh with its flags, destinations in one order whatever each node's history, never added at
/// weight 0, sloppy TCP/SCTP set, and a digest that shows a node that disagrees. The kernel's side
/// of it (the table and a moved flow) is in ConsistentChoiceKernelTests.
/// </summary>
public class ConsistentChoiceTests
{
    private static readonly IPAddressValue Vip = IPAddressValue.Parse("192.0.2.10");
    private static readonly VirtualServiceKey Http = new(Vip, IpvsProtocol.TCP, 80);
    private static readonly VirtualService Maglev = new(Http, "mh", SchedulerFlags: IpvsSchedulerFlags.Fallback | IpvsSchedulerFlags.Port);

    /// <summary>A node: an in-memory kernel that lists destinations as the kernel does, and the applier.</summary>
    private sealed class FakeNode
    {
        public InMemoryIpvs Ipvs { get; } = new();

        private readonly SyncApplier applier;

        public FakeNode()
        {
            var links = new InMemoryAddressManager();
            links.EnsureDummyLink(WellKnown.BindInterface);
            applier = new SyncApplier(Ipvs, new BindLink(links, WellKnown.BindInterface, NullLogger.Instance), NullLogger.Instance);
        }

        public AppliedPlan Sync(params Destination[] destinations) => applier.Sync(new DesiredState(
            new HashSet<IPAddressValue> { Vip },
            new Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)> { [Http] = (Maglev, destinations) },
            new HashSet<VirtualServiceKey>()), _ => true);

        public IReadOnlyList<string> Listed() => [.. Ipvs.ListDestinations(Http).Select(d => $"{d} {d.Weight}")];
    }

    private static Destination Backend(int last, uint weight = 1) => new(IPAddressValue.Parse($"10.0.0.{last}"), 8080, weight);

    [Test]
    public void Two_nodes_with_different_histories_hold_an_mh_services_destinations_in_one_order()
    {
        var seenEveryChange = new FakeNode();
        seenEveryChange.Sync(Backend(11), Backend(13));
        seenEveryChange.Sync(Backend(11), Backend(12), Backend(13));
        seenEveryChange.Sync(Backend(10), Backend(11), Backend(12), Backend(13), Backend(14));
        seenEveryChange.Sync(Backend(10), Backend(12), Backend(13), Backend(14));
        seenEveryChange.Sync(Backend(14), Backend(13), Backend(12), Backend(11), Backend(10));
        var restarted = new FakeNode();
        restarted.Sync(Backend(12), Backend(10), Backend(14), Backend(11), Backend(13));

        seenEveryChange.Listed().Should().Equal(restarted.Listed(), "the mh table is built from the list in order: another order sends some flows elsewhere");
        restarted.Listed().Should().Equal(
            ["10.0.0.14:8080 1", "10.0.0.13:8080 1", "10.0.0.12:8080 1", "10.0.0.11:8080 1", "10.0.0.10:8080 1"],
            "the canonical order, highest address first");
        seenEveryChange.Sync(Backend(14), Backend(13), Backend(12), Backend(11), Backend(10)).Writes.Should().Be(0, "a list in order is left alone");
    }

    [Test]
    public void A_draining_destination_is_added_to_an_mh_service_at_weight_one_then_set_to_zero()
    {
        // The kernel builds the table with each destination's last non-zero weight: one added at 0
        // has no slots, one drained to 0 keeps them. Both nodes must give it the same.
        var restarted = new FakeNode();
        var plan = MaglevOrder.Plan(Http, [Backend(11), Backend(12, weight: 0)], []);

        plan.Adds.Should().Equal(
            new SyncOperation.AddDestination(Http, Backend(11)),
            new SyncOperation.AddDestination(Http, Backend(12)),
            new SyncOperation.UpdateDestination(Http, Backend(12, weight: 0)));
        restarted.Sync(Backend(11), Backend(12, weight: 0));
        restarted.Listed().Should().Equal("10.0.0.12:8080 0", "10.0.0.11:8080 1");
        restarted.Ipvs.TableWeight(Http, Backend(12).Address, 8080).Should().Be(1, "as on a node that saw it serve before it drained");
    }

    [Test]
    public void Only_the_destinations_out_of_place_are_added_again()
    {
        var node = new FakeNode();
        node.Sync(Backend(10), Backend(20), Backend(30));

        // 25 goes between 30 and 20: 30 must be added again after it; 20 and 10 stay.
        var plan = MaglevOrder.Plan(Http, [Backend(10), Backend(20), Backend(25), Backend(30)], node.Ipvs.ListDestinations(Http));

        plan.Adds.Should().Equal(
            new SyncOperation.AddDestination(Http, Backend(25)),
            new SyncOperation.DeleteDestination(Http, Backend(30)),
            new SyncOperation.AddDestination(Http, Backend(30)));
        plan.Removes.Should().BeEmpty();
    }

    private static V1Alpha1IPPool Pool(bool? consistentHashing) => new()
    {
        Metadata = new V1ObjectMeta { Name = "p" },
        Spec = new IPPoolSpec
        {
            Addresses = ["192.0.2.0/28"],
            Announce = new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode], Bgp = new PoolBgpAnnouncement { ConsistentHashing = consistentHashing } },
        },
    };

    private static V1Alpha1IPAllocation Claim(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = AllocationNames.For(Vip) },
        Spec = new IPAllocationSpec { Address = Vip.ToString(), Pool = "p", ServiceRef = new ServiceReference { Namespace = "default", Name = name, Uid = name } },
    };

    private static V1Service Service(string name, string policy = "Cluster", Dictionary<string, string>? annotations = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = name, Annotations = annotations },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", ExternalTrafficPolicy = policy, Ports = [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP" }] },
    };

    private static V1EndpointSlice Slice(string service, params string[] addresses) => new()
    {
        Metadata = new V1ObjectMeta { Name = service, NamespaceProperty = "default", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service } },
        AddressType = "IPv4",
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
        Endpoints = [.. addresses.Select(a => new V1Endpoint { Addresses = [a], NodeName = "node-b", Conditions = new V1EndpointConditions { Ready = true } })],
    };

    private static DesiredState Build(V1Service service, bool? consistentHashing, string node = "node-a", params string[] endpoints) =>
        DesiredStateBuilder.Build(new ClusterView([Claim(service.Metadata.Name)], [service], [Slice(service.Metadata.Name, endpoints.Length > 0 ? endpoints : ["10.0.0.11", "10.0.0.12"])], [])
        { Pools = [Pool(consistentHashing)] }, node).Kernel;

    [Test]
    public void A_pool_with_consistent_hashing_gives_mh_with_fallback_and_port_to_Services_that_name_no_scheduler()
    {
        var consistent = Build(Service("web"), consistentHashing: true);
        consistent.Services[Http].Service.Should().Be(Maglev);
        consistent.ConsistentServices.Should().Equal(Http);

        Build(Service("web"), consistentHashing: null).Services[Http].Service.Scheduler.Should().Be("rr", "off by default");
        Build(Service("web"), consistentHashing: null).ConsistentServices.Should().BeEmpty();

        var named = Build(Service("web", annotations: new() { [WellKnown.Annotations.Scheduler] = "wlc" }), consistentHashing: true);
        named.Services[Http].Service.Should().Be(new VirtualService(Http, "wlc"), "a Service's own scheduler wins");
        named.ConsistentServices.Should().BeEmpty();

        Build(Service("web", policy: "Local"), consistentHashing: true, node: "node-b").ConsistentServices
            .Should().BeEmpty("with externalTrafficPolicy Local each node has its own endpoints: no choice to share");
    }

    [Test]
    public void A_Service_asks_for_mh_and_its_flags_by_annotation()
    {
        var state = Build(Service("web", annotations: new() { [WellKnown.Annotations.Scheduler] = "mh", [WellKnown.Annotations.SchedulerFlags] = "mh-port" }), consistentHashing: false);

        state.Services[Http].Service.Should().Be(new VirtualService(Http, "mh", SchedulerFlags: IpvsSchedulerFlags.Port));
        state.ConsistentServices.Should().Equal(Http);
    }

    [Test]
    public void The_scheduler_flags_the_Service_webhook_accepts_are_those_the_dataplane_knows() =>
        ServiceIpvsSettingsReader.SchedulerFlags.Should().BeEquivalentTo(IpvsSchedulerFlags.Named.Keys);

    [Test]
    public void Nodes_with_the_same_choice_publish_the_same_digest_and_one_that_differs_another()
    {
        var one = ConsistentChoiceDigest.Of(MaglevOrder.Canonical(Build(Service("web"), true, endpoints: ["10.0.0.11", "10.0.0.12"])), sloppy: true);
        var other = ConsistentChoiceDigest.Of(MaglevOrder.Canonical(Build(Service("web"), true, endpoints: ["10.0.0.12", "10.0.0.11"])), sloppy: true);
        var moreEndpoints = ConsistentChoiceDigest.Of(Build(Service("web"), true, endpoints: ["10.0.0.11", "10.0.0.12", "10.0.0.13"]), sloppy: true);
        var strict = ConsistentChoiceDigest.Of(Build(Service("web"), true), sloppy: false);

        one.Keys.Should().Equal(Vip);
        one[Vip].Should().MatchRegex("^[0-9a-f]{16}$");
        other[Vip].Should().Be(one[Vip], "the same endpoints seen in another order make the same choice");
        moreEndpoints[Vip].Should().NotBe(one[Vip]);
        strict[Vip].Should().NotBe(one[Vip], "a node without sloppy TCP resets the flows moved to it");
        ConsistentChoiceDigest.Of(Build(Service("web"), false), sloppy: true).Should().BeEmpty("no digest where no choice is shared");
        ConsistentChoiceDigest.AsNumber(one[Vip]).Should().Be(Convert.ToUInt64(one[Vip][..12], 16), "the metric carries its first 48 bits exactly");
    }

    [Test]
    public void The_node_sets_sloppy_TCP_and_SCTP_once_it_serves_a_consistent_virtual_service()
    {
        var sysctl = new InMemorySysctl();
        var dataplane = new NodeDataplane(new InMemoryIpvs(), new InMemoryAddressManager(), new InMemoryNetfilter(), new InMemoryNeighbourAdvertiser(), sysctl);
        var kernel = new KernelSync(dataplane, new NodeAgentOptions { NodeName = "node-a" }, TimeProvider.System, NullLogger.Instance);
        var view = (bool consistent) => new ClusterView([Claim("web")], [Service("web")], [Slice("web", "10.0.0.11")], []) { Pools = [Pool(consistent)] };

        kernel.Run(view(false), SyncTrigger.Change).Failure.Should().BeNull();
        sysctl.Read(SloppySysctls.Tcp).Should().BeNull("nothing asks for it: the node's setting is left alone");
        kernel.ChoiceDigests.Should().BeEmpty();

        kernel.Run(view(true), SyncTrigger.Change).Failure.Should().BeNull();
        sysctl.Read(SloppySysctls.Tcp).Should().Be("1");
        sysctl.Read(SloppySysctls.Sctp).Should().Be("1");
        kernel.ChoiceDigests.Keys.Should().Equal(Vip);
    }
}
