using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Probing;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Dataplane.Probing;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// Three node agents with layer 2 announcement against LocalCluster and the controller, each on an
/// in-memory dataplane of its own: one node announces a Service's VIP on its uplink, the Service
/// says which, and the announcement moves when that node stops or loses its endpoints.
/// </summary>
[NonParallelizable]
public class Layer2AnnouncementTests : ControllerFixture
{
    private readonly List<Node> nodes = [];
    private string leases = null!;

    private sealed record Node(string Name, NodeDataplane Dataplane, NodeAgent Agent, Task Run, CancellationTokenSource Stop)
    {
        public bool OnUplink(IPAddressValue vip) => Dataplane.Links.ListAddresses("eth0").Contains(vip);
    }

    [SetUp]
    public async Task LeaseNamespaceAsync() => leases = await NewNamespaceAsync("leases");

    [TearDown]
    public async Task StopNodesAsync()
    {
        foreach (var node in nodes.Where(n => !n.Stop.IsCancellationRequested))
        {
            await node.Stop.CancelAsync();
        }
        await Task.WhenAll(nodes.Select(n => n.Run)).WaitAsync(TimeSpan.FromSeconds(30));
        nodes.Clear();
    }

    private Node StartNode(string name, string? announceInterface = null, Action<NodeDataplane>? prepare = null, IProber? prober = null, InMemoryNeighbourProber? lan = null)
    {
        var dataplane = NodeDataplaneFactory.InMemory();
        if (lan is not null)
        {
            dataplane = dataplane with { Prober = lan };
        }
        prepare?.Invoke(dataplane);
        var agent = new NodeAgent(ApiConnection.Of(Client), dataplane, new NodeAgentOptions
        {
            NodeName = name,
            Layer2 = new Layer2Options { Interface = announceInterface, Namespace = leases, LeaseDuration = TimeSpan.FromSeconds(2), RenewDeadline = TimeSpan.FromSeconds(1), RetryPeriod = TimeSpan.FromMilliseconds(200) },
        }, NullLoggerFactory.Instance, prober: prober ?? new ScriptedProber());
        var stop = new CancellationTokenSource();
        var node = new Node(name, dataplane, agent, Task.Run(() => agent.RunAsync(stop.Token)), stop);
        nodes.Add(node);
        return node;
    }

    private Task<(string Ns, IPAddressValue Vip)> ServiceAsync(string pool, string range, string policy = "Cluster", params string[] endpointNodes) =>
        ServiceAsync(pool, range, policy, [], endpointNodes);

    private async Task<(string Ns, IPAddressValue Vip)> ServiceAsync(string pool, string range, string policy, Dictionary<string, string> annotations, params string[] endpointNodes)
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync(pool, range);
        StartController();
        var service = LoadBalancer("web", 80);
        service.Metadata.Annotations = new Dictionary<string, string>(annotations) { [WellKnown.Annotations.AddressPool] = pool };
        service.Spec.ExternalTrafficPolicy = policy;
        await Client.CoreV1.CreateNamespacedServiceAsync(service, ns);
        await PublishEndpointsAsync(ns, endpointNodes);
        return (ns, IPAddressValue.Parse(await WaitForAddressAsync(ns, "web")));
    }

    private async Task PublishEndpointsAsync(string ns, params string[] onNodes)
    {
        var slice = new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = "web-abcde", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = "web" } },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
            Endpoints = [.. onNodes.Select((node, i) => new V1Endpoint { Addresses = [$"10.244.{i + 1}.2"], NodeName = node, Conditions = new V1EndpointConditions { Ready = true } })],
        };
        await PublishSliceAsync(ns, slice);
    }

    private string Holders(IPAddressValue vip) => string.Join(", ", nodes.Where(n => n.OnUplink(vip)).Select(n => n.Name)) is { Length: > 0 } names ? names : "nobody";

    private async Task<Node> SoleHolderAsync(IPAddressValue vip, IEnumerable<Node>? among = null)
    {
        var candidates = (among ?? nodes).ToList();
        await Eventually.TrueAsync(() => nodes.Count(n => n.OnUplink(vip)) == 1 && candidates.Any(n => n.OnUplink(vip)),
            () => $"exactly one of {string.Join(", ", candidates.Select(c => c.Name))} has {vip} on its uplink; now {Holders(vip)}");
        return nodes.Single(n => n.OnUplink(vip));
    }

    private async Task ServiceShowsAsync(string ns, string holder, IPAddressValue vip)
    {
        V1Service? service = null;
        await Eventually.TrueAsync(async () =>
        {
            service = await Services.GetAsync(ns, "web");
            return service?.Status?.Conditions?.Any(c => c.Type == WellKnown.Conditions.Announced && c.Status == "True" && c.Message == $"{vip} is announced from {holder} (eth0)") == true;
        }, () => $"the Service names {holder}: conditions {string.Join("; ", service?.Status?.Conditions?.Select(c => $"{c.Type}={c.Status} {c.Message}") ?? [])}");
    }

    [Test]
    public async Task One_node_announces_the_VIP_on_its_uplink_and_the_Service_says_which()
    {
        // All three in the election before the VIP exists: the node rendezvous hashing prefers takes it
        // first (a node that joins later takes it over from whoever had it, which another test covers).
        StartNode("node-a");
        StartNode("node-b");
        StartNode("node-c");
        await Eventually.TrueAsync(async () => (await Client.CoordinationV1.ListNamespacedLeaseAsync(leases, labelSelector: $"{AnnouncementElection.ComponentLabel}=presence")).Items.Count == 3,
            "every node renews its presence");
        var (ns, vip) = await ServiceAsync("l2-basic", "198.51.100.80/30", "Cluster", "node-b");

        var holder = await SoleHolderAsync(vip, nodes.Where(n => n.Name == Rendezvous.Preferred(vip, ["node-a", "node-b", "node-c"])));

        await Eventually.TrueAsync(() => nodes.All(n => n.Dataplane.Links.ListAddresses("ipvs-lb0").Contains(vip)), "every node serves the VIP on its dummy interface");
        // Each node prepares its uplink when it joins the election, after its first sync: on a busy machine a moment after the holder took the VIP.
        await Eventually.TrueAsync(() => nodes.All(n => n.Dataplane.Sysctl.Read("net/ipv4/conf/eth0/arp_ignore") == "1" && n.Dataplane.Sysctl.Read("net/ipv4/conf/eth0/arp_announce") == "2"),
            "no node answers ARP for a VIP it only has on the dummy interface");
        // The address goes on the uplink first, the gratuitous ARP right after it, on the election's thread.
        await Eventually.TrueAsync(() => ((InMemoryNeighbourAdvertiser)holder.Dataplane.Advertiser).Sent.Contains(("eth0", vip)), "the taker sends gratuitous ARP");
        await Eventually.TrueAsync(() => holder.Agent.Announcing.Contains(vip), "the holder says it announces the VIP");
        nodes.Except([holder]).Should().OnlyContain(n => !((InMemoryNeighbourAdvertiser)n.Dataplane.Advertiser).Sent.Contains(new ValueTuple<string, IPAddressValue>("eth0", vip)));
        await ServiceShowsAsync(ns, holder.Name, vip);
        (await EventsAsync(ns, "web", WellKnown.Events.Announced)).Should().ContainSingle()
            .Which.Message.Should().Be($"{vip} is announced from {holder.Name} (eth0); nobody announced it before");
    }

    [Test]
    public async Task A_VIP_another_device_answers_for_is_announced_by_nobody_and_the_Service_names_the_device_until_it_lets_go()
    {
        // One address in the pool: the VIP is known before the Service exists, and a device on the LAN holds it already.
        var vip = IPAddressValue.Parse("198.51.100.120");
        var lan = new InMemoryNeighbourProber();
        lan.Hold(vip, System.Net.NetworkInformation.PhysicalAddress.Parse("02:00:5e:00:53:01"));
        StartNode("node-a", lan: lan);
        StartNode("node-b", lan: lan);
        StartNode("node-c", lan: lan);
        var (ns, allocated) = await ServiceAsync("l2-conflict", "198.51.100.120/32", "Cluster", "node-b");
        allocated.Should().Be(vip);

        var expected = $"no node announces {vip}: device 02:00:5e:00:53:01 answered the ARP/NDP probe of";
        V1Service? service = null;
        await Eventually.TrueAsync(async () => (service = await Services.GetAsync(ns, "web"))?.Status?.Conditions?.Any(c =>
                c.Type == WellKnown.Conditions.Announced && c.Status == "False" && c.Reason == "AddressConflict" && c.Message.StartsWith(expected, StringComparison.Ordinal)) == true,
            () => $"the Service says which device answers for its address: {string.Join("; ", service?.Status?.Conditions?.Select(c => $"{c.Type}={c.Status} {c.Reason} {c.Message}") ?? [])}");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "web", WellKnown.Events.AddressConflict)).Any(e => e.Type == "Warning" && e.Message.StartsWith(expected, StringComparison.Ordinal)),
            "a Warning Event names the device");
        Holders(vip).Should().Be("nobody", "no node answers for an address another device holds");

        lan.Hold(vip, null);

        var holder = await SoleHolderAsync(vip);
        await ServiceShowsAsync(ns, holder.Name, vip);
    }

    [Test]
    public async Task When_the_holder_stops_another_node_takes_over_and_the_Service_and_an_Event_say_so()
    {
        var (ns, vip) = await ServiceAsync("l2-move", "198.51.100.84/30", "Cluster", "node-b");
        StartNode("node-a");
        StartNode("node-b");
        StartNode("node-c");
        var first = await SoleHolderAsync(vip);
        await ServiceShowsAsync(ns, first.Name, vip);

        await first.Stop.CancelAsync();
        await first.Run.WaitAsync(TimeSpan.FromSeconds(30));

        first.OnUplink(vip).Should().BeFalse("a node stopping cleanly withdraws its announcements");
        first.Dataplane.Links.ListAddresses("ipvs-lb0").Should().Contain(vip, "and keeps serving what reaches it (an agent restart never drops traffic)");
        var next = await SoleHolderAsync(vip, nodes.Except([first]));
        await ServiceShowsAsync(ns, next.Name, vip);
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "web", WellKnown.Events.Announced)).Any(e => e.Message == $"{vip} is announced from {next.Name} (eth0); {first.Name} announced it before"),
            "an Event names the new holder and the old one");
    }

    [Test]
    public async Task With_externalTrafficPolicy_Local_only_a_node_with_endpoints_announces_and_the_VIP_follows_them()
    {
        var (ns, vip) = await ServiceAsync("l2-local", "198.51.100.88/30", "Local", "node-c");
        StartNode("node-a");
        StartNode("node-b");
        var c = StartNode("node-c");

        (await SoleHolderAsync(vip)).Should().Be(c, "only node-c has an endpoint: elsewhere the traffic would be dropped");

        await PublishEndpointsAsync(ns, "node-a");

        (await SoleHolderAsync(vip, nodes.Where(n => n.Name == "node-a"))).Name.Should().Be("node-a");
        c.OnUplink(vip).Should().BeFalse();

        // Scaled to zero: nobody may announce it, and the Service says so instead of naming a node.
        await PublishEndpointsAsync(ns);

        await Eventually.TrueAsync(() => nodes.All(n => !n.OnUplink(vip)), () => $"nobody announces {vip}; now {Holders(vip)}");
        await Eventually.TrueAsync(async () => await Services.GetAsync(ns, "web") is { } service
            && service.Status?.Conditions?.Any(c => c.Type == WellKnown.Conditions.Announced && c.Status == "False" && c.Reason == "NoEligibleNode"
                && c.Message == $"no node announces {vip}: externalTrafficPolicy is Local and no node running the agent has a ready endpoint") == true,
            "the condition says why no node announces it");
    }

    [Test]
    public async Task The_announcing_node_shows_its_health_check_count_on_the_Service_which_follows_a_takeover_and_goes_with_the_check()
    {
        // The two nodes see the endpoints differently (as nodes in different racks may): node-b's
        // probes of 10.244.2.2 fail. The Service shows what its announcing node finds.
        var failingOnB = new ProbeResult(ProbeFailure.Timeout, TimeSpan.FromSeconds(1), "no answer in 500ms");
        StartNode("node-a");
        StartNode("node-b", prober: new ScriptedProber
        {
            Answer = t => t.Address.ToString() == "10.244.2.2" ? failingOnB : ProbeResult.Ok(TimeSpan.FromMilliseconds(1)),
        });
        var (ns, vip) = await ServiceAsync("l2-health", "198.51.100.72/30", "Cluster", new Dictionary<string, string>
        {
            [WellKnown.Annotations.HealthCheck] = "tcp",
            [WellKnown.Annotations.HealthCheckInterval] = "1s",
            [WellKnown.Annotations.HealthCheckTimeout] = "500ms",
            [WellKnown.Annotations.HealthCheckHealthyThreshold] = "1",
            [WellKnown.Annotations.HealthCheckUnhealthyThreshold] = "1",
        }, "node-a", "node-b");
        string Expected(string holder) => holder == "node-b"
            ? "False SomeFail 1 of 2 endpoints pass their tcp health check from node-b; failing: 10.244.2.2:8080: they get no new connections"
            : "True AllPass 2 of 2 endpoints pass their tcp health check from node-a";
        async Task<string?> ShownAsync() => ServiceConditions.Find((await Services.GetAsync(ns, "web"))!, WellKnown.Conditions.EndpointsHealthy) is { } c
            ? $"{c.Status} {c.Reason} {c.Message}" : null;

        // The node rendezvous hashing prefers ends up holding it (another may hold it for a moment first).
        var holder = await SoleHolderAsync(vip, nodes.Where(n => n.Name == Rendezvous.Preferred(vip, ["node-a", "node-b"])));
        string? shown = null;
        await Eventually.TrueAsync(async () => (shown = await ShownAsync()) == Expected(holder.Name),
            () => $"the Service shows {holder.Name}'s count; it shows '{shown}'");

        await holder.Stop.CancelAsync();
        var next = await SoleHolderAsync(vip, nodes.Where(n => n != holder));
        await Eventually.TrueAsync(async () => (shown = await ShownAsync()) == Expected(next.Name),
            () => $"after the takeover the Service shows {next.Name}'s count; it shows '{shown}'");

        var service = (await Services.GetAsync(ns, "web"))!;
        service.Metadata.Annotations.Remove(WellKnown.Annotations.HealthCheck);
        foreach (var setting in service.Metadata.Annotations.Keys.Where(k => k.StartsWith(WellKnown.Annotations.HealthCheck + "-", StringComparison.Ordinal)).ToList())
        {
            service.Metadata.Annotations.Remove(setting);
        }
        await Client.CoreV1.ReplaceNamespacedServiceAsync(service, "web", ns);
        await Eventually.TrueAsync(async () => (shown = await ShownAsync()) is null, () => $"a Service checked no longer loses the condition; it shows '{shown}'");
        (await Services.GetAsync(ns, "web"))!.Status.Conditions.Should().Contain(c => c.Type == WellKnown.Conditions.Announced, "the other condition stays");
    }

    [Test]
    public async Task A_health_checked_Service_that_stops_being_a_LoadBalancer_loses_its_health_condition()
    {
        StartNode("node-a");
        var (ns, vip) = await ServiceAsync("l2-retyped", "198.51.100.116/30", "Cluster", new Dictionary<string, string>
        {
            [WellKnown.Annotations.HealthCheck] = "tcp",
            [WellKnown.Annotations.HealthCheckInterval] = "1s",
            [WellKnown.Annotations.HealthCheckTimeout] = "500ms",
        }, "node-a");
        await SoleHolderAsync(vip, nodes);
        async Task<V1Condition?> ShownAsync() => ServiceConditions.Find((await Services.GetAsync(ns, "web"))!, WellKnown.Conditions.EndpointsHealthy);
        await Eventually.TrueAsync(async () => await ShownAsync() is not null, "the announcing node shows the health check's count");

        // Its health-check annotations stay, but an ExternalName Service has no endpoints to speak of.
        await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"type":"ExternalName","externalName":"example.com"}}""", V1Patch.PatchType.MergePatch), "web", ns);

        V1Condition? shown = null;
        await Eventually.TrueAsync(async () => (shown = await ShownAsync()) is null,
            () => $"the condition goes with the LoadBalancer; it says '{shown?.Message}'");
    }

    [Test]
    public async Task A_node_that_cannot_announce_takes_no_address_and_says_why_on_the_Node()
    {
        var (_, vip) = await ServiceAsync("l2-broken", "198.51.100.92/30", "Cluster", "node-b");
        var broken = StartNode("node-a", announceInterface: "eth9");
        StartNode("node-b");

        (await SoleHolderAsync(vip)).Name.Should().Be("node-b", "node-a has no eth9: it leaves the election, whatever rendezvous hashing prefers");
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items
            .Any(e => e.InvolvedObject.Name == "node-a" && e.Reason == "AnnouncementFailed" && e.Message.Contains("eth9 does not exist; this node has lo, eth0", StringComparison.Ordinal)),
            "a Warning Event on the Node names the interface and the ones there are");
        broken.Agent.Announcing.Should().BeEmpty();
    }

    [Test]
    public async Task A_holder_whose_uplink_loses_carrier_gives_its_addresses_up_and_takes_part_again_when_it_is_back()
    {
        var (_, vip) = await ServiceAsync("l2-carrier", "198.51.100.104/30", "Cluster", "node-b");
        StartNode("node-a");
        StartNode("node-b");
        var holder = nodes.Single(n => n.Name == Rendezvous.Preferred(vip, ["node-a", "node-b"]));
        var other = nodes.Single(n => n != holder);
        await Eventually.TrueAsync(() => holder.OnUplink(vip) && !other.OnUplink(vip), () => $"the preferred {holder.Name} announces {vip}; now {Holders(vip)}");
        var uplink = (InMemoryAddressManager)holder.Dataplane.Links;

        uplink.SetLinkState("eth0", up: true, carrier: false);

        (await SoleHolderAsync(vip, [other])).Should().Be(other, "the other node takes the address at once: the holder released it");
        holder.OnUplink(vip).Should().BeFalse("the unplugged interface keeps no VIP that could answer when the cable is back");
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items
            .Any(e => e.InvolvedObject.Name == holder.Name && e.Reason == "AnnouncementFailed" && e.Message.Contains("eth0 is up but has no carrier", StringComparison.Ordinal)),
            "a Warning Event on the Node says why");

        uplink.SetLinkState("eth0", up: true, carrier: true);

        await Eventually.TrueAsync(() => holder.OnUplink(vip) && !other.OnUplink(vip),
            () => $"rendezvous hashing prefers {holder.Name}: it takes the address back once it takes part again; now {Holders(vip)}");
    }

    [Test]
    public async Task A_node_whose_source_NAT_fails_announces_only_addresses_that_need_none_and_is_not_ready()
    {
        var (_, natVip) = await ServiceAsync("l2-nat", "198.51.100.108/30", "Cluster", "node-a", "node-b");
        var brokenName = Rendezvous.Preferred(natVip, ["node-a", "node-b"])!;
        var (_, localVip) = await ServiceAsync("l2-nonat", "198.51.100.112/30", "Local", brokenName);
        var broken = StartNode(brokenName, prepare: d => ((InMemoryNetfilter)d.Netfilter).Failure = "nft: Operation not permitted");
        var healthy = StartNode(brokenName == "node-a" ? "node-b" : "node-a");

        (await SoleHolderAsync(natVip, [healthy])).Should().Be(healthy, $"{broken.Name} is preferred but cannot source-NAT, which {natVip}'s Service needs");
        (await SoleHolderAsync(localVip, [broken])).Should().Be(broken, $"{localVip} needs no source NAT (externalTrafficPolicy Local), and only {broken.Name} has its endpoints");
        broken.Dataplane.Ipvs.ListServices().Should().Contain(s => s.Key.Address == localVip, "IPVS is programmed whatever nft does");
        await Eventually.TrueAsync(() => !broken.Agent.IsReady, "a node that cannot serve a Service that needs source NAT is not ready");

        ((InMemoryNetfilter)broken.Dataplane.Netfilter).Failure = null;

        await Eventually.TrueAsync(() => broken.Agent.IsReady, "ready again once nft works");
        (await SoleHolderAsync(natVip, [broken])).Should().Be(broken, "and it takes the address that rendezvous hashing prefers it for");
    }

    private async Task<IReadOnlyList<V1Lease>> AddressLeasesAsync() =>
        [.. (await Client.CoordinationV1.ListNamespacedLeaseAsync(leases)).Items.Where(l => l.Metadata.Labels?[AnnouncementElection.ComponentLabel] == "address")];

    [Test]
    public async Task A_Service_that_stops_being_a_LoadBalancer_loses_the_announcement_data_and_its_Lease_goes()
    {
        var (ns, vip) = await ServiceAsync("l2-type", "198.51.100.96/30", "Cluster", "node-b");
        StartNode("node-a");
        StartNode("node-b");
        var holder = await SoleHolderAsync(vip);
        await ServiceShowsAsync(ns, holder.Name, vip);
        (await AddressLeasesAsync()).Should().ContainSingle(l => l.Metadata.Annotations[AnnouncementElection.AddressAnnotation] == vip.ToString());

        var service = await Services.GetAsync(ns, "web");
        service!.Spec.Type = "ClusterIP";
        service.Spec.Ports[0].NodePort = null;
        await Client.CoreV1.ReplaceNamespacedServiceAsync(service, "web", ns);

        await Eventually.TrueAsync(() => nodes.All(n => !n.OnUplink(vip)), () => $"nobody announces {vip}; now {Holders(vip)}");
        await Eventually.TrueAsync(async () => await Services.GetAsync(ns, "web") is { } now
            && now.Status?.Conditions?.Any(c => c.Type == WellKnown.Conditions.Announced) != true,
            "the condition is gone from a Service no node announces");
        await Eventually.TrueAsync(async () => !(await AddressLeasesAsync()).Any(l => l.Metadata.Annotations?[AnnouncementElection.AddressAnnotation] == vip.ToString()),
            "the address Lease is deleted once it is unused (the Services earlier tests left keep theirs)");
    }

    [Test]
    public async Task A_deleted_Service_leaves_no_address_Lease_behind()
    {
        var (ns, vip) = await ServiceAsync("l2-gone", "198.51.100.100/30", "Cluster", "node-b");
        StartNode("node-a");
        StartNode("node-b");
        await SoleHolderAsync(vip);

        await Client.CoreV1.DeleteNamespacedServiceAsync("web", ns);

        await Eventually.TrueAsync(() => nodes.All(n => !n.OnUplink(vip)), () => $"nobody announces {vip}; now {Holders(vip)}");
        await Eventually.TrueAsync(async () => !(await AddressLeasesAsync()).Any(l => l.Metadata.Annotations?[AnnouncementElection.AddressAnnotation] == vip.ToString()),
            "the address Lease is deleted once it is unused (the Services earlier tests left keep theirs)");
    }
}
