using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Node;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Dataplane.Bgp;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using static IpvsOperator.Tests.Support.Processes;

namespace IpvsOperator.Tests.Node.Kernel;

/// <summary>
/// BGP on the real kernel, in the VM: three node agents, each a real <c>ipvs-operator node
/// --announce bgp</c> process with its own FRR (zebra, bgpd, bfdd) in a network namespace of its
/// own (bg1, bg2, bg3), and a router (bgrt) running BIRD 2 with ECMP (merge paths) and BFD, all on
/// one bridged LAN, 10.6.0.0/24. A client (bgcl) sits behind the router on 10.7.0.0/24; the VIPs
/// (198.51.100.0/28) are on no link: the client reaches them only through the routes the nodes
/// announce. The same over IPv6: LAN fd06::/64, outside fd07::/64, VIPs 2001:db8:6::/124, each
/// node with a second session, to the router's IPv6 address. The backend (bgbk, on the LAN) answers with the address it sees, which is the node
/// that forwarded (source NAT), so counting answers counts the nodes. LocalCluster and the
/// controller run in this process, reached by the agents at 10.6.0.1. Every address here is one the
/// test assigned, inside namespaces it created.
/// </summary>
[Category("Kernel")]
[NonParallelizable]
public class BgpKernelTests : ControllerFixture
{
    private const string Lan = "10.6.0";
    private const string Outside = "10.7.0";
    private const string Lan6 = "fd06:";
    private const string Outside6 = "fd07:";
    private static readonly string Work = Path.Combine(Path.GetTempPath(), "ipvsop-bgp");
    private static readonly string[] Nodes = ["bg1", "bg2", "bg3"];
    private const string RouterNs = "bgrt";
    private const string ClientNs = "bgcl";
    private const string BackendNs = "bgbk";
    private readonly Dictionary<string, Agent> agents = [];
    private readonly Dictionary<string, FrrInstance> frr = [];
    private readonly List<Process> helpers = [];
    private readonly CancellationTokenSource stopProbing = new();
    private string kubeconfig = null!;
    private VipClient client = null!;

    private sealed record Agent(string Node, Process Process, ConcurrentQueue<string> Log);

    protected override LocalClusterOptions Options => base.Options with { Listen = IPAddress.Any, CertificateAddresses = [IPAddress.Parse($"{Lan}.1")] };

    private static string AddressOf(string node) => $"{Lan}.{11 + Array.IndexOf(Nodes, node)}";

    private static string Address6Of(string node) => $"{Lan6}:{11 + Array.IndexOf(Nodes, node)}";

    private static string Bird(bool bfd) => $$"""
        router id {{Lan}}.254;
        protocol device { }
        protocol direct { ipv4; ipv6; }
        protocol kernel { ipv4 { export all; }; merge paths on; }
        protocol kernel { ipv6 { export all; }; merge paths on; }
        protocol bfd { interface "*" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; }; }
        template bgp node {
          local {{Lan}}.254 as 64500;
          hold time 9; keepalive time 3; connect retry time 1; error wait time 1, 2;
          {{(bfd ? "bfd on;" : string.Empty)}}
          ipv4 { import all; export none; };
        }
        {{string.Join("\n", Nodes.Select(n => $"protocol bgp {n} from node {{ neighbor {AddressOf(n)} as 64512; }}"))}}
        template bgp node6 {
          local {{Lan6}}:fe as 64500;
          hold time 9; keepalive time 3; connect retry time 1; error wait time 1, 2;
          ipv6 { import all; export none; };
        }
        {{string.Join("\n", Nodes.Select(n => $"protocol bgp {n}_6 from node6 {{ neighbor {Address6Of(n)} as 64512; }}"))}}
        """;

    [OneTimeSetUp]
    public async Task BuildNetworkAsync()
    {
        KernelRequirement.Ipvs();
        Directory.CreateDirectory(Work);
        await Sh("ip link add bglan type bridge");
        await Sh($"ip addr add {Lan}.1/24 dev bglan");
        await Sh("ip link set bglan up");
        foreach (var node in Nodes)
        {
            await JoinLanAsync("bglan", node, $"{node}-p", $"{AddressOf(node)}/24");
            await Sh($"ip netns exec {node} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.eth0.keep_addr_on_down=1");
            await Sh($"ip -n {node} addr add {Address6Of(node)}/64 dev eth0 nodad");
            // Replies to the client go back by the router, as on a routed network.
            await Sh($"ip -n {node} route add {Outside}.0/24 via {Lan}.254");
            await Sh($"ip -n {node} -6 route add {Outside6}:/64 via {Lan6}:fe");
            frr[node] = await FrrInstance.StartAsync(node, node, Path.Combine(Work, node));
        }
        await JoinLanAsync("bglan", BackendNs, $"{BackendNs}-p", $"{Lan}.50/24");
        // The backend is a pod of bg1: its replies to outside go through its node, as a pod's do
        // (needed for Local, where the client's address reaches it; Cluster's are source-NATed).
        await Sh($"ip -n {BackendNs} route add {Outside}.0/24 via {AddressOf(Nodes[0])}");
        await Sh($"ip -n {BackendNs} addr add {Lan6}:50/64 dev eth0 nodad");
        await Sh($"ip -n {BackendNs} -6 route add {Outside6}:/64 via {Address6Of(Nodes[0])}");
        await JoinLanAsync("bglan", RouterNs, $"{RouterNs}-p", $"{Lan}.254/24");
        await Sh($"ip -n {RouterNs} addr add {Lan6}:fe/64 dev eth0 nodad");
        await Sh($"ip netns exec {RouterNs} sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1");
        // Hash on ports too, so that one client's connections spread over the next hops.
        await Sh($"ip netns exec {RouterNs} sysctl -qw net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1");
        await Sh($"ip netns add {ClientNs}");
        await Sh($"ip -n {RouterNs} link add out0 type veth peer name eth0 netns {ClientNs}");
        await Sh($"ip -n {RouterNs} addr add {Outside}.1/24 dev out0");
        await Sh($"ip -n {RouterNs} link set out0 up");
        await Sh($"ip -n {RouterNs} addr add {Outside6}:1/64 dev out0 nodad");
        await Sh($"ip -n {ClientNs} addr add {Outside}.2/24 dev eth0");
        await Sh($"ip -n {ClientNs} addr add {Outside6}:2/64 dev eth0 nodad");
        await Sh($"ip -n {ClientNs} link set eth0 up");
        await Sh($"ip -n {ClientNs} link set lo up");
        await Sh($"ip -n {ClientNs} route add default via {Outside}.1");
        await Sh($"ip -n {ClientNs} -6 route add default via {Outside6}:1");
        await File.WriteAllTextAsync(Path.Combine(Work, "bird.conf"), Bird(bfd: true));
        helpers.Add(Process.Start("ip", ["netns", "exec", RouterNs, "/usr/sbin/bird", "-f", "-c", Path.Combine(Work, "bird.conf"), "-s", Path.Combine(Work, "bird.ctl")]));

        helpers.Add(await VipClient.StartBackendAsync(BackendNs, Work));
        client = new VipClient(ClientNs, stopProbing.Token);

        await InstallCrdsAsync();
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = WellKnown.NodeNamespace } });
        foreach (var node in Nodes)
        {
            await Client.CoreV1.CreateNodeAsync(new V1Node
            {
                Metadata = new V1ObjectMeta { Name = node },
                Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = AddressOf(node) }] },
            });
        }
        await Pools.CreateAsync(new V1Alpha1IPPool
        {
            Metadata = new V1ObjectMeta { Name = "routed" },
            Spec = new IPPoolSpec { Addresses = ["198.51.100.0/28"], Announce = new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] } },
        });
        await new EntityClient<V1Alpha1BGPPeer>(Client).CreateAsync(new V1Alpha1BGPPeer
        {
            Metadata = new V1ObjectMeta { Name = "router" },
            Spec = new BGPPeerSpec { PeerAddress = $"{Lan}.254", PeerASN = 64500, LocalASN = 64512, HoldTime = "9s", KeepaliveTime = "3s", Bfd = new BfdProfileSpec() },
        });
        kubeconfig = Server.WriteKubeconfig(Path.Combine(Work, "kubeconfig"), host: $"{Lan}.1");
    }

    [OneTimeTearDown]
    public async Task RemoveNetworkAsync()
    {
        await stopProbing.CancelAsync();
        stopProbing.Dispose();
        foreach (var process in agents.Values.Select(a => a.Process).Concat(helpers))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited already
            }
            process.Dispose();
        }
        foreach (var instance in frr.Values)
        {
            await instance.KillAsync();
        }
        foreach (var name in Nodes.Concat([ClientNs, BackendNs, RouterNs]))
        {
            await RunAsync("ip", ["netns", "del", name]);
        }
        await RunAsync("ip", ["link", "del", "bglan"]);
    }

    [TearDown]
    public void ShowLogsOnFailure()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            foreach (var agent in agents.Values)
            {
                TestContext.Out.WriteLine($"--- agent {agent.Node} (last lines)\n{string.Join('\n', agent.Log.TakeLast(40))}");
                TestContext.Out.WriteLine($"--- FRR on {agent.Node}\n{frr[agent.Node].Diagnose()}");
            }
            TestContext.Out.WriteLine($"--- BIRD\n{BirdAsync("show", "protocols", "all").GetAwaiter().GetResult()}");
        }
    }

    [Test, Order(1)]
    public async Task Every_node_announces_a_Cluster_VIP_and_the_router_spreads_the_clients_over_the_three()
    {
        StartController();
        foreach (var node in Nodes)
        {
            StartAgent(node);
        }
        var vip = await ServiceAsync("web", local: false);

        // Under the VM's emulated CPUs each agent's first sync takes half a minute (JIT).
        await NextHopsAsync(vip, Nodes, TimeSpan.FromMinutes(3));
        var answers = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            answers.Add(await client.AnswerAsync(vip, _ => true, "the client is served"));
        }
        var perNode = Nodes.ToDictionary(n => n, n => answers.Count(a => a == $"bk {AddressOf(n)}"));
        RecordFigures(FormattableString.Invariant($"BGP ECMP: 30 requests from one client spread {string.Join(", ", perNode.Select(p => $"{p.Key} {p.Value}"))}"));
        perNode.Values.Sum().Should().Be(30, "every answer came through one of the nodes");
        perNode.Values.Count(c => c > 0).Should().BeGreaterThanOrEqualTo(2, "the router spreads connections over the nodes (ECMP, hashing on ports)");
        await EstablishedEverywhereAsync();
    }

    [Test, Order(2)]
    public async Task A_Local_VIP_is_announced_only_by_the_node_with_its_endpoint()
    {
        await EveryNodeUpAsync();
        var vip = await ServiceAsync("local-web", local: true);

        await NextHopsAsync(vip, [Nodes[0]], TimeSpan.FromMinutes(2));
        await client.AnswerAsync(vip, a => a == $"bk {Outside}.2", "the client is served through the endpoint's node, and the backend sees the client's own address (no source NAT for Local)");
    }

    [Test, Order(3)]
    public async Task When_a_node_dies_BFD_takes_its_next_hop_away_and_the_client_is_served_by_the_others()
    {
        var vip = await EveryNodeUpAsync();
        await NextHopsAsync(vip, Nodes, TimeSpan.FromMinutes(3));

        var routeGone = await NodeDiesAsync(vip, "BGP failover with BFD (300 ms x 3)", TimeSpan.FromSeconds(60));
        routeGone.Should().BeLessThan(30, "BFD ends the session within about a second; the figure is recorded above");
    }

    [Test, Order(4)]
    public async Task A_stopping_agent_withdraws_first_and_no_client_probe_fails()
    {
        var vip = await EveryNodeUpAsync();
        await NextHopsAsync(vip, Nodes, TimeSpan.FromMinutes(3));
        var probes = client.Probe(vip, TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => probes.Count(p => p.Answer is not null) >= 10, "the prober is served");
        var start = VipClient.Now();

        // SIGTERM, as the kubelet stops a pod: the agent withdraws its routes, its kernel keeps serving what still comes.
        var leaving = Nodes[2];
        await Sh($"kill -TERM {agents[leaving].Process.Id}");
        var (stillThrough, moved) = await NextHopsAsync(vip, Nodes.Where(n => n != leaving), TimeSpan.FromSeconds(60));
        var withdrawn = VipClient.Now() - start;
        await agents[leaving].Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        // A probe is queued once it has ended: one begun two seconds after the withdrawal means two
        // seconds of probes. (It also had to have begun in the last 0.1 s: under a starved VM, with
        // probes taking seconds, that window was missed for 180 s in .ci/run beside a build loop.)
        await Eventually.TrueAsync(() => probes.Any(p => p.At > start + withdrawn + 2), "two seconds of probes after the withdrawal", TimeSpan.FromSeconds(30));

        var during = probes.Where(p => p.At >= start).ToList();
        // The router's ECMP hashes by flow over the next hops it has (hash-threshold): when one goes,
        // flows move between the others too, and the one connection open at that instant may land on
        // a node that never saw its SYN. Only that probe may fail; all others show that the node
        // served until its route was gone.
        var atTheMove = during.Where(p => p.At <= moved && p.Until >= stillThrough).ToList();
        RecordFigures(FormattableString.Invariant(
            $"BGP graceful stop of {leaving}: its route withdrawn {withdrawn:F2} s after SIGTERM; {during.Count(p => p.Answer is null)} of {during.Count} probes lost ({atTheMove.Count(p => p.Answer is null)} open as the router moved the route)"));
        during.Except(atTheMove).Should().OnlyContain(p => p.Answer != null, "the routes go before the node stops serving");
        atTheMove.Count(p => p.Answer is null).Should().BeLessThanOrEqualTo(1, "probes run one at a time, so one at most was open when the route moved");
        agents[leaving].Log.Should().Contain(l => l.Contains("announces none of its", StringComparison.Ordinal) || l.Contains("withdrew", StringComparison.Ordinal), "the agent says it withdrew");
    }

    [Test, Order(5)]
    public async Task A_peer_given_the_wrong_ASN_stays_down_the_IPVSNode_says_why_and_the_right_one_brings_it_back()
    {
        var vip = await EveryNodeUpAsync();
        await NextHopsAsync(vip, Nodes, TimeSpan.FromMinutes(3));
        var peers = new EntityClient<V1Alpha1BGPPeer>(Client);
        var nodes = new EntityClient<V1Alpha1IPVSNode>(Client);

        // The router speaks as AS 64500; the BGPPeer now says 64999.
        await peers.PatchAsync(null, "router", """{"spec":{"peerASN":64999}}""");
        try
        {
            IPVSNodeBgpSession? session = null;
            await Eventually.TrueAsync(async () => (session = (await nodes.GetAsync(null, Nodes[0]))?.Status?.Bgp?.Sessions?.SingleOrDefault())
                    is { State: not "Established", Message: { } message } && message.Contains("Bad Peer AS: the peer's OPEN gives AS 64500, the BGPPeer's peerASN is 64999", StringComparison.Ordinal),
                () => $"the IPVSNode names the reason and the AS the router gives; it shows {KubernetesJson.Serialize(session)}", TimeSpan.FromMinutes(2));
            await NextHopsAsync(vip, [], TimeSpan.FromMinutes(1));
        }
        finally
        {
            await peers.PatchAsync(null, "router", """{"spec":{"peerASN":64500}}""");
        }
        await NextHopsAsync(vip, Nodes, TimeSpan.FromMinutes(2));
        await EstablishedEverywhereAsync();
    }

    [Test, Order(6)]
    public async Task Without_BFD_a_dead_nodes_next_hop_goes_when_the_hold_time_runs_out()
    {
        var vip = await EveryNodeUpAsync();
        var peers = new EntityClient<V1Alpha1BGPPeer>(Client);
        var nodes = new EntityClient<V1Alpha1IPVSNode>(Client);
        await peers.PatchAsync(null, "router", """{"spec":{"bfd":null}}""");
        await ConfigureBirdAsync(bfd: false);
        try
        {
            foreach (var node in Nodes)
            {
                IPVSNodeBgpSession? session = null;
                await Eventually.TrueAsync(async () => (session = (await nodes.GetAsync(null, node))?.Status?.Bgp?.Sessions?.SingleOrDefault(s => s.Peer == "router"))
                    is { State: "Established", Bfd: null }, () => $"{node}'s session is up without BFD; it shows {KubernetesJson.Serialize(session)}", TimeSpan.FromMinutes(2));
            }
            await NextHopsAsync(vip, Nodes, TimeSpan.FromMinutes(2));

            // Only the hold time (9 s, keepalives every 3 s) can tell the router now: 6 to 9 s after the death.
            var routeGone = await NodeDiesAsync(vip, "BGP failover without BFD (hold time 9 s)", TimeSpan.FromMinutes(2));
            routeGone.Should().BeGreaterThan(5, "without BFD only the hold timer ends the session (this shows BFD was really off)");
        }
        finally
        {
            await peers.PatchAsync(null, "router", """{"spec":{"bfd":{}}}""");
            await ConfigureBirdAsync(bfd: true);
        }
    }

    [Test, Order(7)]
    public async Task An_IPv6_VIP_is_announced_over_an_IPv6_session_spread_over_the_nodes_and_served()
    {
        await EveryNodeUpAsync();
        var peers = new EntityClient<V1Alpha1BGPPeer>(Client);
        var nodes = new EntityClient<V1Alpha1IPVSNode>(Client);
        await Pools.CreateAsync(new V1Alpha1IPPool
        {
            Metadata = new V1ObjectMeta { Name = "routed6" },
            Spec = new IPPoolSpec { Addresses = ["2001:db8:6::/124"], Announce = new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] } },
        });
        await peers.CreateAsync(new V1Alpha1BGPPeer
        {
            Metadata = new V1ObjectMeta { Name = "router6" },
            Spec = new BGPPeerSpec { PeerAddress = $"{Lan6}:fe", PeerASN = 64500, LocalASN = 64512, HoldTime = "9s", KeepaliveTime = "3s" },
        });
        try
        {
            var service = LoadBalancer("web6");
            service.Metadata.Annotations = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "routed6" };
            service.Spec.IpFamilies = ["IPv6"];
            service.Spec.IpFamilyPolicy = "SingleStack";
            await Client.CoreV1.CreateNamespacedServiceAsync(service, "default");
            await Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(new V1EndpointSlice
            {
                Metadata = new V1ObjectMeta { Name = "web6-x1", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = "web6" } },
                AddressType = "IPv6",
                Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
                Endpoints = [new V1Endpoint { Addresses = [$"{Lan6}:50"], NodeName = Nodes[0], Conditions = new V1EndpointConditions { Ready = true } }],
            }, "default");
            var vip = await WaitForAddressAsync("default", "web6");
            vip.Should().StartWith("2001:db8:6::");

            await NextHopsAsync(vip, Nodes, TimeSpan.FromMinutes(3));
            var answers = new List<string>();
            for (var i = 0; i < 30; i++)
            {
                answers.Add(await client.AnswerAsync(vip, a => Nodes.Any(n => a == $"bk {Address6Of(n)}"), "the client is served over IPv6, through a node (source NAT to the node's IPv6 address)"));
            }
            var perNode = Nodes.ToDictionary(n => n, n => answers.Count(a => a == $"bk {Address6Of(n)}"));
            RecordFigures(FormattableString.Invariant($"BGP over IPv6: {vip} on the router through {Nodes.Length} next hops; 30 requests from one client spread {string.Join(", ", perNode.Select(p => $"{p.Key} {p.Value}"))}"));
            perNode.Values.Count(c => c > 0).Should().BeGreaterThanOrEqualTo(2, "the router spreads IPv6 connections over the nodes too");
            foreach (var node in Nodes)
            {
                await Eventually.TrueAsync(async () => (await nodes.GetAsync(null, node))?.Status?.Bgp is { Established: "2/2" } bgp
                    && bgp.Sessions!.Single(s => s.Peer == "router6").PrefixesAdvertised == 1, $"{node}'s IPVSNode shows both sessions, one IPv6 prefix to router6", TimeSpan.FromMinutes(1));
            }
        }
        finally
        {
            await peers.DeleteAsync(null, "router6");
        }
    }

    private static async Task ConfigureBirdAsync(bool bfd)
    {
        await File.WriteAllTextAsync(Path.Combine(Work, "bird.conf"), Bird(bfd));
        var answer = await BirdAsync("configure");
        answer.Should().Contain("Reconfigured", "BIRD takes the new configuration");
    }

    /// <summary>
    /// bg2 dies (agent killed, link down) under a client's probes: returns how long after the death
    /// the router dropped its next hop, records the figures, and checks that the other two nodes
    /// serve every probe from a second after that.
    /// </summary>
    private async Task<double> NodeDiesAsync(string vip, string what, TimeSpan timeout)
    {
        var probes = client.Probe(vip, TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => probes.Count(p => p.Answer is not null) >= 10, "the prober is served");

        var victim = Nodes[1];
        using (var route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{victim}", NetlinkConstants.NetlinkRoute)))
        {
            agents[victim].Process.Kill();
            route.SetLinkDown("eth0");
        }
        var died = VipClient.Now();
        await NextHopsAsync(vip, Nodes.Where(n => n != victim), timeout);
        var routeGone = VipClient.Now() - died;
        await Eventually.TrueAsync(() => probes.Any(p => p.At > died + routeGone + 1), "a second of probes after the route changed");

        var after = probes.Where(p => p.At > died).ToList();
        var lost = after.Where(p => p.Answer is null).ToList();
        var lastLost = lost.Count > 0 ? lost.Max(p => p.At) - died : 0;
        RecordFigures(FormattableString.Invariant(
            $"{what}: the router dropped {victim}'s next hop {routeGone:F2} s after its death; {lost.Count} of {after.Count} probes lost, the last {lastLost:F2} s after the death"));
        probes.Where(p => p.At > died + routeGone + 1).Should().OnlyContain(p => p.Answer != null, "after the route changed, the other two nodes serve every connection");
        return routeGone;
    }

    /// <summary>Prints a test's figures and adds them to bgp.txt (in the VM's share, for docs/benchmarks.md).</summary>
    private static void RecordFigures(string figures)
    {
        TestContext.Out.WriteLine(figures);
        File.AppendAllText(Path.Combine(Environment.GetEnvironmentVariable("IPVSOP_SHARE") is { } share ? Path.Combine(share, "out") : Work, "bgp.txt"), figures + "\n");
    }

    private async Task<string> EveryNodeUpAsync()
    {
        StartController();
        foreach (var node in Nodes)
        {
            using (var route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{node}", NetlinkConstants.NetlinkRoute)))
            {
                route.SetLinkUp("eth0");
            }
            await Sh($"ip -n {node} route replace {Outside}.0/24 via {Lan}.254");
            await Sh($"ip -n {node} addr replace {Address6Of(node)}/64 dev eth0 nodad");
            await Sh($"ip -n {node} -6 route replace {Outside6}:/64 via {Lan6}:fe");
            if (!agents.TryGetValue(node, out var agent) || agent.Process.HasExited)
            {
                StartAgent(node);
            }
        }
        return await AddressOfAsync("default", "web") ?? await ServiceAsync("web", local: false);
    }

    private void StartAgent(string node)
    {
        var paths = frr[node].Paths;
        var (process, log) = VipClient.StartAgent(node, ["--kubeconfig", kubeconfig, "--node-name", node, "--dataplane", "kernel",
            "--state-file", Path.Combine(Work, $"{node}.state"),
            "--announce", "bgp", "--frr-socket-dir", paths.SocketDirectory, "--frr-config", paths.ConfigurationFile, "--bgp-session-poll", "1s"]);
        agents[node] = new Agent(node, process, log);
    }

    /// <summary>A Service of the routed pool whose endpoint is the backend, on bg1 (for Local: the only node with an endpoint).</summary>
    private async Task<string> ServiceAsync(string name, bool local)
    {
        var service = LoadBalancer(name);
        service.Metadata.Annotations = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "routed" };
        service.Spec.ExternalTrafficPolicy = local ? "Local" : "Cluster";
        await Client.CoreV1.CreateNamespacedServiceAsync(service, "default");
        await Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = $"{name}-x1", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = name } },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
            Endpoints = [new V1Endpoint { Addresses = [$"{Lan}.50"], NodeName = Nodes[0], Conditions = new V1EndpointConditions { Ready = true } }],
        }, "default");
        return await WaitForAddressAsync("default", name);
    }

    /// <summary>
    /// Until the router's route to the VIP goes through exactly these nodes (their IPv6 addresses for
    /// an IPv6 VIP). Returns when it last saw other next hops and when it first saw these: the route
    /// changed in between.
    /// </summary>
    private static async Task<(double StillOld, double Changed)> NextHopsAsync(string vip, IEnumerable<string> nodes, TimeSpan timeout)
    {
        var stillOld = VipClient.Now();
        var v6 = vip.Contains(':', StringComparison.Ordinal);
        var expected = nodes.Select(v6 ? Address6Of : (Func<string, string>)AddressOf).Order(StringComparer.Ordinal).ToList();
        var hops = new List<string>();
        await Eventually.TrueAsync(async () =>
        {
            var polled = VipClient.Now();
            var words = (await RunAsync("ip", ["-n", RouterNs, v6 ? "-6" : "-4", "route", "show", vip])).Output.Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries);
            hops = [.. words.Select((word, i) => (word, i)).Where(w => w.word == "via" && w.i + 1 < words.Length).Select(w => words[w.i + 1]).Order(StringComparer.Ordinal)];
            if (!hops.SequenceEqual(expected))
            {
                stillOld = polled;
                return false;
            }
            return true;
        }, () => $"the router's route to {vip} goes through {string.Join(", ", expected)}; now through {string.Join(", ", hops)}", timeout);
        return (stillOld, VipClient.Now());
    }

    private async Task EstablishedEverywhereAsync()
    {
        var nodes = new EntityClient<V1Alpha1IPVSNode>(Client);
        foreach (var node in Nodes)
        {
            await Eventually.TrueAsync(async () => (await nodes.GetAsync(null, node))?.Status?.Bgp is { Established: "1/1" } bgp
                && bgp.Sessions!.Single().Bfd == "Up", $"{node}'s IPVSNode shows its session and BFD up", TimeSpan.FromMinutes(1));
            (await nodes.GetAsync(null, node))!.Spec.Build.Should().Be(VipClient.AgentBuild, "the fixture ran the build it was given");
        }
    }

    private static async Task<string> BirdAsync(params string[] command) =>
        (await RunAsync("/usr/sbin/birdc", ["-s", Path.Combine(Work, "bird.ctl"), .. command])).Output;
}
