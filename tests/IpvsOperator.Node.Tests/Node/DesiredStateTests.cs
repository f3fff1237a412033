using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Tests.Node;

/// <summary>The desired kernel state as a pure function of allocations, Services and EndpointSlices.</summary>
public class DesiredStateTests
{
    private static readonly IPAddressValue Vip = IPAddressValue.Parse("192.0.2.10");

    private static V1Alpha1IPAllocation Claim(string address, string name, string uid, params (string Name, string Uid)[] sharers) => new()
    {
        Metadata = new V1ObjectMeta { Name = AllocationNames.For(IPAddressValue.Parse(address)) },
        Spec = new IPAllocationSpec
        {
            Address = address, Pool = "p", ServiceRef = new ServiceReference { Namespace = "default", Name = name, Uid = uid },
            SharedWith = sharers.Length == 0 ? null : [.. sharers.Select(s => new ServiceReference { Namespace = "default", Name = s.Name, Uid = s.Uid })],
        },
    };

    private static V1Service Service(string name, string uid, Dictionary<string, string>? annotations = null, string policy = "Cluster", string affinity = "None", int? timeout = null,
        params V1ServicePort[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = uid, Annotations = annotations },
        Spec = new V1ServiceSpec
        {
            Type = "LoadBalancer", ExternalTrafficPolicy = policy, SessionAffinity = affinity,
            SessionAffinityConfig = timeout is null ? null : new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = timeout } },
            Ports = ports.Length > 0 ? ports : [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP", TargetPort = "web", NodePort = 30080 }],
        },
    };

    private static V1Endpoint Endpoint(string address, string node, bool? ready = true, bool? serving = null, bool? terminating = null) =>
        new() { Addresses = [address], NodeName = node, Conditions = new V1EndpointConditions { Ready = ready, Serving = serving, Terminating = terminating } };

    private static V1EndpointSlice Slice(string service, string addressType, Discoveryv1EndpointPort[] ports, params V1Endpoint[] endpoints) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"{service}-{addressType.ToLowerInvariant()}", NamespaceProperty = "default", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service } },
        AddressType = addressType,
        Ports = ports,
        Endpoints = endpoints,
    };

    private static readonly Discoveryv1EndpointPort[] HttpPort = [new() { Name = "http", Port = 8080, Protocol = "TCP" }];

    private static (DesiredState Kernel, ServedServices Served) Build(IEnumerable<V1Alpha1IPAllocation> claims, IEnumerable<V1Service> services, IEnumerable<V1EndpointSlice> slices,
        string node = "node-a", ForwardTarget target = ForwardTarget.Endpoints, IEnumerable<V1Node>? nodes = null) =>
        DesiredStateBuilder.Build(new ClusterView([.. claims], [.. services], [.. slices], [.. nodes ?? []]), node, target);

    private static VirtualServiceKey Key(ushort port, IpvsProtocol protocol = IpvsProtocol.TCP, IPAddressValue? vip = null) => new(vip ?? Vip, protocol, port);

    [Test]
    public void Each_port_gets_a_virtual_service_with_the_ready_endpoints_at_the_slice_port()
    {
        var service = Service("web", "u1", ports: [
            new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP", TargetPort = "web" },
            new V1ServicePort { Name = "dns", Port = 53, Protocol = "UDP", TargetPort = 5353 }]);
        var slice = Slice("web", "IPv4", [new() { Name = "http", Port = 8080, Protocol = "TCP" }, new() { Name = "dns", Port = 5353, Protocol = "UDP" }],
            Endpoint("10.0.0.2", "node-a"), Endpoint("10.0.0.3", "node-b", ready: false), Endpoint("10.0.0.4", "node-b", ready: false, serving: true, terminating: true));

        var (state, served) = Build([Claim("192.0.2.10", "web", "u1")], [service], [slice]);

        state.Addresses.Should().Equal(Vip);
        state.Services.Keys.Should().BeEquivalentTo([Key(80), Key(53, IpvsProtocol.UDP)]);
        state.Services[Key(80)].Service.Should().Be(new VirtualService(Key(80), "rr"));
        state.Services[Key(80)].Destinations.Should().Equal(
            new Destination(IPAddressValue.Parse("10.0.0.2"), 8080, 1), new Destination(IPAddressValue.Parse("10.0.0.4"), 8080, 0));
        state.Services[Key(53, IpvsProtocol.UDP)].Destinations.Select(d => d.Port).Should().OnlyContain(p => p == 5353);
        served.Warnings.Should().BeEmpty();
    }

    [Test]
    public void Health_checked_endpoints_are_probe_targets_a_down_one_gets_weight_0_and_a_draining_one_is_not_probed()
    {
        var service = Service("web", "u1", new Dictionary<string, string> { ["ipvsoperator.io/health-check"] = "tcp", ["ipvsoperator.io/health-check-port"] = "9000" });
        var slice = Slice("web", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-a"), Endpoint("10.0.0.3", "node-b"),
            Endpoint("10.0.0.4", "node-b", ready: false, serving: true, terminating: true));
        var view = new ClusterView([Claim("192.0.2.10", "web", "u1")], [service], [slice], []);

        var (state, served) = DesiredStateBuilder.Build(view, "node-a", isDown: t => t.Address.ToString() == "10.0.0.3");

        served.Probed.Keys.Select(t => t.ToString()).Should().BeEquivalentTo(["10.0.0.2:9000", "10.0.0.3:9000"], "probed on the check's port; the draining endpoint is not probed");
        served.Probed.Values.SelectMany(users => users).Distinct().Should().Equal([("default", "web")]);
        state.Services[Key(80)].Destinations.Select(d => $"{d.Address}/{d.Weight}").Should().Equal("10.0.0.2/1", "10.0.0.3/0", "10.0.0.4/0");
        state.HeldByHealthCheck.Should().Equal([(Key(80), IPAddressValue.Parse("10.0.0.3"), (ushort)8080)],
            "the down endpoint's weight 0 is the health check's, to hold; the terminating one's is a drain");
        served.Warnings.Should().BeEmpty();

        // The node-port mode forwards to nodes, not endpoints: nothing is probed.
        DesiredStateBuilder.Build(view, "node-a", ForwardTarget.NodePort, _ => true).Served.Probed.Should().BeEmpty();
    }

    [Test]
    public void With_reset_connections_a_down_endpoint_is_cut_not_weighted_and_still_probed_but_never_when_all_are_down()
    {
        var service = Service("web", "u1", new Dictionary<string, string> { ["ipvsoperator.io/health-check"] = "tcp", ["ipvsoperator.io/health-check-reset-connections"] = "true" });
        var plain = Service("api", "u2", new Dictionary<string, string> { ["ipvsoperator.io/health-check"] = "tcp" });
        var view = new ClusterView([Claim("192.0.2.10", "web", "u1"), Claim("192.0.2.11", "api", "u2")], [service, plain],
            [Slice("web", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-a"), Endpoint("10.0.0.3", "node-b")),
             Slice("api", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-a"), Endpoint("10.0.0.3", "node-b"))], []);

        var (state, served) = DesiredStateBuilder.Build(view, "node-a", isDown: t => t.Address.ToString() == "10.0.0.3");

        state.Services[Key(80)].Destinations.Select(d => $"{d.Address}/{d.Weight}").Should().Equal("10.0.0.2/1");
        state.Cut.Should().Equal([(Key(80), IPAddressValue.Parse("10.0.0.3"), (ushort)8080)]);
        state.Services[Key(80, vip: IPAddressValue.Parse("192.0.2.11"))].Destinations.Select(d => $"{d.Address}/{d.Weight}").Should().Equal("10.0.0.2/1", "10.0.0.3/0");
        state.HeldByHealthCheck.Should().Equal([(Key(80, vip: IPAddressValue.Parse("192.0.2.11")), IPAddressValue.Parse("10.0.0.3"), (ushort)8080)], "a cut endpoint is not held");
        served.Probed.Keys.Select(t => t.ToString()).Should().BeEquivalentTo(["10.0.0.2:8080", "10.0.0.3:8080"],
            "the cut endpoint is still probed, so that it comes back; both Services share one probe per endpoint");
        served.Probed.Values.Should().AllSatisfy(users => users.Should().BeEquivalentTo([("default", "web"), ("default", "api")]));

        var (allDown, _) = DesiredStateBuilder.Build(view, "node-a", isDown: _ => true);
        allDown.Services[Key(80)].Destinations.Should().HaveCount(2, "fail open: every endpoint down keeps them all");
        allDown.Cut.Should().BeEmpty();
        allDown.HeldByHealthCheck.Should().BeEmpty();
    }

    [Test]
    public void Health_checks_do_not_probe_loopback_link_local_or_the_nodes_own_addresses_unless_the_operator_allows_it()
    {
        var service = Service("web", "u1", new Dictionary<string, string> { ["ipvsoperator.io/health-check"] = "tcp" });
        var slice = Slice("web", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-a"), Endpoint("10.0.0.3", "node-b"), Endpoint("127.0.0.1", "node-a"), Endpoint("169.254.169.254", "node-a"),
            Endpoint("172.16.0.1", "node-a"), Endpoint("0.0.0.0", "node-a"));
        var node = new V1Node { Metadata = new V1ObjectMeta { Name = "node-a" }, Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = "172.16.0.1" }] } };
        var view = new ClusterView([Claim("192.0.2.10", "web", "u1")], [service], [slice], [node]);

        var (state, served) = DesiredStateBuilder.Build(view, "node-a", isDown: t => t.Address.ToString() == "10.0.0.2");

        served.Probed.Keys.Select(t => t.Address.ToString()).Should().BeEquivalentTo(["10.0.0.2", "10.0.0.3"], "only the pods' addresses are probed from the host");
        served.Warnings.Where(w => w.Reason == "HealthCheckRefused").Select(w => w.Message).Should().BeEquivalentTo(
            "endpoint 127.0.0.1 is a loopback address (this node itself): the node agent does not health-check it (the operator allows it with --health-check-host-addresses); it gets traffic unchecked",
            "endpoint 169.254.169.254 is a link-local address (such as a cloud's metadata service): the node agent does not health-check it (the operator allows it with --health-check-host-addresses); it gets traffic unchecked",
            "endpoint 172.16.0.1 is one of this node's own addresses: the node agent does not health-check it (the operator allows it with --health-check-host-addresses); it gets traffic unchecked",
            "endpoint 0.0.0.0 is the unspecified address (this node itself): the node agent does not health-check it (the operator allows it with --health-check-host-addresses); it gets traffic unchecked");
        state.Services[Key(80)].Destinations.Where(d => d.Weight == 0).Select(d => d.Address.ToString()).Should().Equal(["10.0.0.2"],
            "the checked endpoint that is down gets weight 0; the unchecked ones keep theirs");

        var (_, allowed) = DesiredStateBuilder.Build(view, "node-a", probeHostAddresses: true);
        allowed.Probed.Keys.Select(t => t.Address.ToString()).Should().BeEquivalentTo(["10.0.0.2", "10.0.0.3", "127.0.0.1", "169.254.169.254", "172.16.0.1", "0.0.0.0"]);
        allowed.Warnings.Should().NotContain(w => w.Reason == "HealthCheckRefused");
    }

    [Test]
    public void A_garbled_health_check_is_a_warning_and_checks_nothing()
    {
        var service = Service("web", "u1", new Dictionary<string, string> { ["ipvsoperator.io/health-check"] = "ping" });
        var (state, served) = Build([Claim("192.0.2.10", "web", "u1")], [service], [Slice("web", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-a"))]);

        served.Probed.Should().BeEmpty();
        state.Services[Key(80)].Destinations.Should().ContainSingle().Which.Weight.Should().Be(1u);
        served.Warnings.Should().Equal(new ServiceWarning("default", "web", "InvalidHealthCheck",
            "annotation ipvsoperator.io/health-check: 'ping' is not a health check; valid: tcp, http or https; its endpoints are not checked"));
    }

    [Test]
    public void A_claim_of_another_Service_incarnation_or_a_gone_Service_is_not_served()
    {
        var (state, _) = Build([Claim("192.0.2.10", "web", "old-uid"), Claim("192.0.2.11", "gone", "u9")], [Service("web", "new-uid")], []);

        state.Addresses.Should().BeEmpty();
        state.Services.Should().BeEmpty();
    }

    [TestCase("sh", "sh", false)]
    [TestCase("wlc", "wlc", false)]
    [TestCase("fastest", "rr", true)]
    public void The_scheduler_comes_from_the_annotation_and_an_unknown_one_falls_back_to_rr_with_a_warning(string annotation, string expected, bool warned)
    {
        var (state, served) = Build([Claim("192.0.2.10", "web", "u1")], [Service("web", "u1", new() { [WellKnown.Annotations.Scheduler] = annotation })], []);

        state.Services[Key(80)].Service.Scheduler.Should().Be(expected);
        served.Warnings.Should().HaveCount(warned ? 1 : 0);
        if (warned)
        {
            served.Warnings[0].Message.Should().Contain("'fastest' is not an IPVS scheduler; using rr").And.Contain("sh");
        }
    }

    [TestCase(null, 10800u)]
    [TestCase(300, 300u)]
    public void ClientIP_affinity_becomes_persistence(int? configured, uint expected)
    {
        var (state, _) = Build([Claim("192.0.2.10", "web", "u1")], [Service("web", "u1", affinity: "ClientIP", timeout: configured)], []);

        state.Services[Key(80)].Service.Should().Be(new VirtualService(Key(80), "rr", true, expected));
    }

    [Test]
    public void Local_traffic_policy_keeps_only_endpoints_on_this_node()
    {
        var slice = Slice("web", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-a"), Endpoint("10.0.0.3", "node-b"));

        var (state, _) = Build([Claim("192.0.2.10", "web", "u1")], [Service("web", "u1", policy: "Local")], [slice], node: "node-b");

        state.Services[Key(80)].Destinations.Select(d => d.Address.ToString()).Should().Equal("10.0.0.3");
    }

    [TestCase("Cluster", null, true, TestName = "Masquerade to endpoints anywhere is source-NATed")]
    [TestCase("Local", null, false, TestName = "Local traffic policy keeps the client address (no source NAT)")]
    [TestCase("Cluster", "droute", false, TestName = "Direct routing is never source-NATed")]
    [TestCase("Cluster", "tunnel", false, TestName = "Tunnelling is never source-NATed")]
    public void Source_NAT_is_asked_only_where_replies_would_bypass_this_node(string policy, string? method, bool natted)
    {
        var annotations = method is null ? null : new Dictionary<string, string> { [WellKnown.Annotations.ForwardMethod] = method };
        var slice = Slice("web", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-b"));

        var (state, _) = Build([Claim("192.0.2.10", "web", "u1")], [Service("web", "u1", annotations, policy)], [slice], node: "node-b");

        state.Services.Should().ContainKey(Key(80));
        state.SourceNat.Contains(Key(80)).Should().Be(natted);
    }

    [Test]
    public void A_shared_address_carries_the_ports_of_every_Service_sharing_it()
    {
        var http = Service("http", "u1", ports: [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP" }]);
        var tls = Service("tls", "u2", ports: [new V1ServicePort { Name = "https", Port = 443, Protocol = "TCP" }]);

        var (state, _) = Build([Claim("192.0.2.10", "http", "u1", ("tls", "u2"))], [http, tls], []);

        state.Addresses.Should().ContainSingle();
        state.Services.Keys.Should().BeEquivalentTo([Key(80), Key(443)]);
    }

    [Test]
    public void Node_port_mode_sends_to_the_nodes_internal_IPs_at_the_node_port()
    {
        V1Node Node(string name, string ip) => new() { Metadata = new V1ObjectMeta { Name = name }, Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = ip }, new V1NodeAddress { Type = "Hostname", Address = name }] } };
        var nodes = new[] { Node("node-a", "172.16.0.1"), Node("node-b", "172.16.0.2") };

        var (cluster, _) = Build([Claim("192.0.2.10", "web", "u1")], [Service("web", "u1")], [], target: ForwardTarget.NodePort, nodes: nodes);
        var (local, _) = Build([Claim("192.0.2.10", "web", "u1")], [Service("web", "u1", policy: "Local")], [], node: "node-b", target: ForwardTarget.NodePort, nodes: nodes);

        cluster.Services[Key(80)].Destinations.Should().Equal(new Destination(IPAddressValue.Parse("172.16.0.1"), 30080), new Destination(IPAddressValue.Parse("172.16.0.2"), 30080));
        local.Services[Key(80)].Destinations.Select(d => d.Address.ToString()).Should().Equal("172.16.0.2");
    }

    [TestCase("droute", ForwardMethod.DirectRoute, false)]
    [TestCase("tunnel", ForwardMethod.Tunnel, false)]
    [TestCase("teleport", ForwardMethod.Masquerade, true)]
    public void The_forward_method_comes_from_the_annotation(string annotation, ForwardMethod expected, bool warned)
    {
        var slice = Slice("web", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-a"));

        var (state, served) = Build([Claim("192.0.2.10", "web", "u1")], [Service("web", "u1", new() { [WellKnown.Annotations.ForwardMethod] = annotation })], [slice]);

        state.Services[Key(80)].Destinations.Single().Method.Should().Be(expected);
        served.Warnings.Count.Should().Be(warned ? 1 : 0);
    }

    [Test]
    public void The_schedulers_the_Service_webhook_accepts_are_those_the_dataplane_knows() =>
        ServiceIpvsSettingsReader.Schedulers.Should().BeEquivalentTo(IpvsSchedulers.Known,
            "a scheduler the webhook refuses but the kernel has cannot be used; one it accepts but the kernel lacks fails on every node");

    [Test]
    public void Every_forward_method_the_Service_webhook_accepts_is_a_distinct_dataplane_method()
    {
        var methods = ServiceIpvsSettingsReader.ForwardMethods.Select(DesiredStateBuilder.ForwardMethodNamed).ToList();

        methods.Should().OnlyHaveUniqueItems();
        methods.Should().BeEquivalentTo(Enum.GetValues<ForwardMethod>().Where(m => m != ForwardMethod.LocalNode),
            "every way the dataplane forwards to another host can be asked for (LocalNode is the kernel's own shortcut, never asked)");
    }

    [Test]
    public void A_misspelt_annotation_key_changes_nothing_and_is_not_an_Event()
    {
        var service = Service("web", "u1", new() { ["ipvsoperator.io/sheduler"] = "wlc" });

        var state = Build([Claim("192.0.2.10", "web", "u1")], [service], []);

        state.Kernel.Services[Key(80)].Service.Scheduler.Should().Be("rr");
        state.Served.Warnings.Should().BeEmpty("the Service webhook warns whoever applies it; the agents stay quiet, as before");
    }

    [Test]
    public void An_IPv6_address_takes_only_IPv6_endpoints()
    {
        var v6 = IPAddressValue.Parse("2001:db8::10");
        var slices = new[]
        {
            Slice("web", "IPv4", HttpPort, Endpoint("10.0.0.2", "node-a")),
            Slice("web", "IPv6", HttpPort, Endpoint("fd00::2", "node-a")),
        };

        var (state, _) = Build([Claim("2001:db8::10", "web", "u1")], [Service("web", "u1")], slices);

        state.Services[Key(80, vip: v6)].Destinations.Select(d => d.Address.ToString()).Should().Equal("fd00::2");
    }

    [Test]
    public void A_Service_whose_reading_fails_in_a_way_nobody_foresaw_costs_only_itself_and_is_told()
    {
        var good = Service("web", "u1");
        var broken = Service("broken", "u2");
        broken.Spec.Ports = new ExplodingList<V1ServicePort>();
        var slices = new[] { Slice("web", "IPv4", HttpPort, Endpoint("10.244.1.2", "node-b")) };

        var (state, served) = Build([Claim("192.0.2.10", "web", "u1"), Claim("192.0.2.11", "broken", "u2")], [broken, good], slices);

        state.Services[Key(80)].Destinations.Select(d => d.Address.ToString()).Should().Equal("10.244.1.2");
        state.Addresses.Should().Equal(Vip);
        state.Services.Keys.Should().NotContain(k => k.Address == IPAddressValue.Parse("192.0.2.11"), "nothing half-read of the broken Service is served");
        served.Warnings.Should().ContainSingle().Which.Should().Be(new ServiceWarning("default", "broken", "InvalidService",
            "the node agent cannot read this Service (InvalidOperationException: a failure nobody foresaw); it is not served from this node until it changes"));
    }

    /// <summary>A list that fails when read: stands for any failure in reading one object that no check foresaw.</summary>
    private sealed class ExplodingList<T> : System.Collections.ObjectModel.Collection<T>, IEnumerable<T>
    {
        IEnumerator<T> IEnumerable<T>.GetEnumerator() => throw new InvalidOperationException("a failure nobody foresaw");
    }
}
