using IpvsOperator.Readers;
using System.Text;
using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Node.Bgp;
using k8s.Models;

namespace IpvsOperator.Tests.Node.Bgp;

/// <summary>What a node says over BGP, as a pure function of the BGPPeers, their Secrets, the pools and the addresses the node serves.</summary>
public class BgpPlannerTests
{
    private static IPAddressValue Ip(string text) => IPAddressValue.Parse(text);

    private static V1Node Node(string name = "node-a", string? internalIp = "10.0.0.11", params (string Key, string Value)[] labels) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels.ToDictionary(l => l.Key, l => l.Value) },
        Status = new V1NodeStatus { Addresses = internalIp is null ? [] : [new V1NodeAddress { Type = "InternalIP", Address = internalIp }] },
    };

    private static V1Alpha1BGPPeer Peer(string name, string address, long localAsn = 64512, Action<BGPPeerSpec>? change = null)
    {
        var spec = new BGPPeerSpec { PeerAddress = address, PeerASN = 64500, LocalASN = localAsn };
        change?.Invoke(spec);
        return new V1Alpha1BGPPeer { Metadata = new V1ObjectMeta { Name = name }, Spec = spec };
    }

    private static V1Secret Secret(string name, string key, string value) =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = WellKnown.NodeNamespace }, Data = new Dictionary<string, byte[]> { [key] = Encoding.UTF8.GetBytes(value) } };

    private static V1Service Service(string policy = "Cluster") =>
        new() { Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" }, Spec = new V1ServiceSpec { Type = "LoadBalancer", ExternalTrafficPolicy = policy } };

    private static Dictionary<IPAddressValue, AnnouncedAddress> Announcing(params (string Vip, AnnouncedAddress Address)[] vips) =>
        vips.ToDictionary(v => Ip(v.Vip), v => v.Address);

    private static AnnouncedAddress Announced(PoolAnnouncementSettings? settings = null, IReadOnlySet<string>? eligible = null, string policy = "Cluster", bool needsSourceNat = false) =>
        new(eligible, [Service(policy)], needsSourceNat) { Announce = settings ?? PoolAnnouncementSettings.Default };

    [Test]
    public void Every_peer_that_selects_the_node_gets_a_session_with_its_password_and_every_VIP_is_announced()
    {
        var plan = BgpPlanner.Plan("node-a", Node(labels: ("rack", "1")),
            [
                Peer("tor-1", "10.0.1.254", change: s => (s.PasswordSecret, s.Bfd, s.HoldTime, s.KeepaliveTime) = (new SecretKeyReference { Name = "tor-1" }, new BfdProfileSpec(), "9s", "3s")),
                Peer("tor-2", "10.0.2.254", change: s => s.NodeSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["rack"] = "2" } }),
                Peer("spine", "fd00::1"),
            ],
            [Secret("tor-1", "password", "s3cret\n")],
            Announcing(("198.51.100.1", Announced()), ("2001:db8::1", Announced())), canSourceNat: true, withdrawn: null);

        plan.RouterId.Should().Be(Ip("10.0.0.11"), "the node's InternalIP");
        plan.Peers.Select(p => (p.Name, p.Problem)).Should().Equal(("spine", null), ("tor-1", null));
        var tor1 = plan.Peers.Single(p => p.Name == "tor-1").Peering!;
        (tor1.Password, tor1.HoldSeconds, tor1.KeepaliveSeconds, tor1.Bfd).Should().Be(("s3cret", 9, 3, new IpvsOperator.Dataplane.Bgp.BfdSettings()), "a trailing newline of the Secret is not part of the password");
        plan.Announcements.Select(a => a.Prefix).Should().Equal("198.51.100.1/32", "2001:db8::1/128");
        plan.Render().Should().Contain("network 198.51.100.1/32").And.Contain("network 2001:db8::1/128").And.Contain("neighbor 10.0.1.254 password s3cret\n");
    }

    [Test]
    public void A_peer_that_cannot_be_configured_is_left_out_with_the_reason_and_the_others_stay()
    {
        var plan = BgpPlanner.Plan("node-a", Node(),
            [
                Peer("a-first", "10.0.1.254"),
                Peer("b-no-secret", "10.0.1.253", change: s => s.PasswordSecret = new SecretKeyReference { Name = "gone" }),
                Peer("c-no-key", "10.0.1.252", change: s => s.PasswordSecret = new SecretKeyReference { Name = "there", Key = "pw" }),
                Peer("d-other-asn", "10.0.1.251", localAsn: 64999),
                Peer("e-same-address", "10.0.1.254"),
                Peer("f-bad-password", "10.0.1.250", change: s => s.PasswordSecret = new SecretKeyReference { Name = "spaced" }),
                Peer("g-garbled", "10.0.1.300"),
            ],
            [Secret("there", "password", "x"), Secret("spaced", "password", "two words")],
            Announcing(), canSourceNat: true, withdrawn: null);

        plan.Peers.Select(p => (p.Name, p.Peering is not null, p.Problem)).Should().Equal(
            ("a-first", true, null),
            ("b-no-secret", false, $"its password Secret {WellKnown.NodeNamespace}/gone does not exist"),
            ("c-no-key", false, $"its password Secret {WellKnown.NodeNamespace}/there has no key 'pw'"),
            ("d-other-asn", false, "localASN 64999 differs from BGPPeer a-first's 64512; a node speaks BGP as one AS"),
            ("e-same-address", false, "BGPPeer a-first already peers with 10.0.1.254 from this node"),
            ("f-bad-password", false, $"the password in Secret {WellKnown.NodeNamespace}/spaced (key 'password') is not 1 to 80 printable characters without spaces"),
            ("g-garbled", false, "spec.peerAddress '10.0.1.300' is not an IPv4 or IPv6 address"));
        plan.Render().Should().Contain("neighbor 10.0.1.254 remote-as").And.NotContain("10.0.1.253").And.NotContain("two words");
    }

    [Test]
    public void Cluster_policy_announces_from_every_node_and_Local_only_from_nodes_with_endpoints()
    {
        var announced = Announcing(
            ("198.51.100.1", Announced()),
            ("198.51.100.2", Announced(eligible: new HashSet<string> { "node-b" }, policy: "Local")),
            ("198.51.100.3", Announced(eligible: new HashSet<string> { "node-a" }, policy: "Local")));

        BgpPlanner.Plan("node-a", Node(), [Peer("tor", "10.0.0.254")], [], announced, true, null).Announcements.Select(a => a.Prefix)
            .Should().Equal("198.51.100.1/32", "198.51.100.3/32");
        BgpPlanner.Plan("node-b", Node("node-b"), [Peer("tor", "10.0.0.254")], [], announced, true, null).Announcements.Select(a => a.Prefix)
            .Should().Equal("198.51.100.1/32", "198.51.100.2/32");
    }

    [Test]
    public void A_pool_chooses_BGP_or_not_which_nodes_announce_and_what_the_route_carries_and_Local_VIPs_are_never_aggregated()
    {
        var layer2Only = PoolAnnouncementSettings.Default with { Bgp = false };
        var rack2 = PoolAnnouncementSettings.Default with { NodeSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["rack"] = "2" } } };
        var aggregated = PoolAnnouncementSettings.Default with { Communities = ["64500:100"], LocalPreference = 150, AggregationLength = 24 };
        var announced = Announcing(
            ("198.51.100.1", Announced(layer2Only)),
            ("198.51.100.2", Announced(rack2)),
            ("203.0.113.5", Announced(aggregated)),
            ("203.0.113.6", Announced(aggregated)),
            ("203.0.113.7", Announced(aggregated, eligible: new HashSet<string> { "node-a" }, policy: "Local")));

        var plan = BgpPlanner.Plan("node-a", Node(labels: ("rack", "1")), [Peer("tor", "10.0.0.254")], [], announced, true, null);

        plan.Announcements.Select(a => a.Prefix).Should().Equal("203.0.113.0/24", "203.0.113.0/24", "203.0.113.7/32");
        plan.Prefixes.Should().Be(2, "the aggregate is one route, the Local VIP another");
        plan.Render().Should().Contain("network 203.0.113.0/24 route-map ipvs-attributes-1").And.Contain("set community 64500:100 additive").And.Contain("set local-preference 150");
        BgpPlanner.Plan("node-b", Node("node-b", labels: ("rack", "2")), [Peer("tor", "10.0.0.254")], [], announced, true, null).Announcements.Select(a => a.Prefix)
            .Should().Contain("198.51.100.2/32");
    }

    [Test]
    public void A_withdrawn_node_keeps_its_sessions_but_announces_nothing_and_so_does_one_excluded_by_the_standard_label_or_without_source_NAT()
    {
        var announced = Announcing(("198.51.100.1", Announced()), ("198.51.100.2", Announced(needsSourceNat: true)));
        var peers = new[] { Peer("tor", "10.0.0.254") };

        var failing = BgpPlanner.Plan("node-a", Node(), peers, [], announced, true, "its syncs are failing (3 in a row)");
        failing.Render().Should().Contain("neighbor 10.0.0.254 remote-as 64500").And.Contain("neighbor 10.0.0.254 route-map ipvs-withdraw out")
            .And.Contain("route-map ipvs-withdraw deny 10", "the networks stay, sent to nobody: one line to withdraw them all and to announce them again");
        (failing.Prefixes, failing.Withdrawn).Should().Be((0, "its syncs are failing (3 in a row)"));

        var excluded = BgpPlanner.Plan("node-a", Node(labels: (BgpPlanner.ExcludeLabel, "")), peers, [], announced, true, null);
        excluded.Withdrawn.Should().Be($"the node has the label {BgpPlanner.ExcludeLabel}");
        excluded.Render().Should().Contain("route-map ipvs-withdraw out");
        BgpPlanner.Plan("node-a", Node(), peers, [], announced, true, null).Render().Should().NotContain("ipvs-withdraw");

        BgpPlanner.Plan("node-a", Node(), peers, [], announced, canSourceNat: false, null).Announcements.Select(a => a.Prefix)
            .Should().Equal(["198.51.100.1/32"], "a VIP whose traffic needs source NAT is not drawn to a node whose source NAT fails");
    }

    [Test]
    public void A_node_without_an_IPv4_address_gets_a_stable_router_ID_from_its_name()
    {
        var first = BgpPlanner.RouterId("node-v6", Node("node-v6", internalIp: "fd00::11"));

        first.Family.Should().Be(IPFamily.IPv4);
        BgpPlanner.RouterId("node-v6", null).Should().Be(first, "the same name, the same ID, in any process");
        BgpPlanner.RouterId("node-v6b", null).Should().NotBe(first);
    }

    [Test]
    public void A_pool_whose_aggregation_is_shorter_than_its_prefix_is_announced_address_by_address_and_its_Services_are_told()
    {
        // Made while the pool webhook was down: a /28 with aggregationLength 1 would have every node announce 128.0.0.0/1.
        var pool = new V1Alpha1IPPool
        {
            Metadata = new V1ObjectMeta { Name = "wide" },
            Spec = new IPPoolSpec
            {
                Addresses = ["198.51.100.0/28"],
                Announce = new PoolAnnouncement { Modes = ["bgp"], Bgp = new PoolBgpAnnouncement { Communities = ["64500:7"], AggregationLength = 1 } },
            },
        };
        var service = Service();
        service.Metadata.Uid = "u1";
        service.Spec.Ports = [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP" }];
        var claim = new V1Alpha1IPAllocation
        {
            Metadata = new V1ObjectMeta { Name = AllocationNames.For(Ip("198.51.100.1")) },
            Spec = new IPAllocationSpec { Address = "198.51.100.1", Pool = "wide", ServiceRef = new ServiceReference { Namespace = "default", Name = "web", Uid = "u1" } },
        };
        var (_, served) = DesiredStateBuilder.Build(new ClusterView([claim], [service], [], []) { Pools = [pool] }, "node-a");

        var plan = BgpPlanner.Plan("node-a", Node(), [Peer("tor-1", "10.0.1.254")], [], served.Announced, canSourceNat: true, withdrawn: null);

        plan.Announcements.Select(a => a.Prefix).Should().Equal(["198.51.100.1/32"], "never an aggregate reaching beyond the pool");
        plan.Announcements.Single().Communities.Should().Equal(["64500:7"], "the pool's other settings still hold");
        served.Warnings.Should().ContainSingle().Which.Should().Be(new ServiceWarning("default", "web", "InvalidPoolAnnouncement",
            "IPPool wide: spec.announce.bgp.aggregationLength 1 is shorter than the pool's prefix 198.51.100.0/28: every node would announce 128.0.0.0/1, addresses outside the pool; valid: 28 to 32; " +
            "each of its addresses is announced alone (/32, /128)"));
    }
}

