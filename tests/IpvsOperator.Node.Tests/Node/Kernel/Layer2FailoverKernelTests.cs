using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Node;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using static IpvsOperator.Tests.Support.Processes;

namespace IpvsOperator.Tests.Node.Kernel;

/// <summary>
/// Layer 2 failover on the real kernel, in the VM: three node agents, each a real
/// <c>ipvs-operator node</c> process in a network namespace of its own (l2n1, l2n2, l2n3), a client (l2cl)
/// and a backend (l2bk) on one bridged LAN, 10.5.0.0/24, with the VIPs in it (so the client finds
/// the VIP by ARP, as on a bare-metal LAN). LocalCluster and the controller run in this process,
/// in the VM's root namespace, reached by the agents at 10.5.0.1. The client asks the VIP over HTTP
/// ten times a second; tcpdump on the client's interface records the ARP. Every address here is
/// one the test assigned, inside namespaces it created.
/// </summary>
[Category("Kernel")]
[NonParallelizable]
public class Layer2FailoverKernelTests : ControllerFixture
{
    private const string Lan = "10.5.0";
    private static readonly string Work = Path.Combine(Path.GetTempPath(), "ipvsop-l2");
    // Namespaces and node names of this fixture's own (other kernel fixtures use cl, nb, lc).
    private static readonly string[] Nodes = ["l2n1", "l2n2", "l2n3"];
    private const string ClientNs = "l2cl";
    private const string BackendNs = "l2bk";
    private const int SyncId = 34;
    private readonly Dictionary<string, Agent> agents = [];
    private readonly List<Process> helpers = [];
    private readonly CancellationTokenSource stopProbing = new();
    private string kubeconfig = null!;
    private VipClient client = null!;
    private bool scaledTimings;

    private sealed record Agent(string Node, Process Process, ConcurrentQueue<string> Log);

    protected override LocalClusterOptions Options => base.Options with { Listen = IPAddress.Any, CertificateAddresses = [IPAddress.Parse($"{Lan}.1")] };

    private static string AddressOf(string node) => $"{Lan}.{11 + Array.IndexOf(Nodes, node)}";

    [OneTimeSetUp]
    public async Task BuildLanAsync()
    {
        KernelRequirement.Ipvs();
        Directory.CreateDirectory(Work);
        // Multicast to every port whoever asked for it: the agents' IPVS connection sync daemons (224.0.0.81).
        await Sh("ip link add l2lan type bridge mcast_snooping 0");
        await Sh($"ip addr add {Lan}.1/24 dev l2lan");
        await Sh("ip link set l2lan up");
        foreach (var node in Nodes)
        {
            await Host(node, AddressOf(node));
            // What a Kubernetes node has: forwarding on, a default route (its interface is the announcing one).
            await Sh($"ip netns exec {node} sysctl -qw net.ipv4.ip_forward=1");
            await Sh($"ip -n {node} route add default via {Lan}.1");
        }
        await Host(ClientNs, $"{Lan}.2");
        await Host(BackendNs, $"{Lan}.50");
        helpers.Add(await VipClient.StartBackendAsync(BackendNs, Work));
        client = new VipClient(ClientNs, stopProbing.Token);

        await InstallCrdsAsync();
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = WellKnown.NodeNamespace } });
        await CreatePoolAsync("l2-lan", $"{Lan}.200/29");
        kubeconfig = Server.WriteKubeconfig(Path.Combine(Work, "kubeconfig"), host: $"{Lan}.1");

        static Task Host(string name, string address) => JoinLanAsync("l2lan", name, $"{name}-p", $"{address}/24");
    }

    [OneTimeTearDown]
    public async Task RemoveLanAsync()
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
        foreach (var name in Nodes.Concat([ClientNs, BackendNs]))
        {
            await RunAsync("ip", ["netns", "del", name]);
        }
        await RunAsync("ip", ["link", "del", "l2lan"]);
    }

    [TearDown]
    public void ShowAgentLogsOnFailure()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            foreach (var agent in agents.Values)
            {
                TestContext.Out.WriteLine($"--- agent {agent.Node} (last lines)\n{string.Join('\n', agent.Log.TakeLast(40))}");
                // What the election decided, however long ago.
                TestContext.Out.WriteLine($"--- agent {agent.Node} (election)\n{string.Join('\n', agent.Log.Where(l => l.Contains("AnnouncementElection", StringComparison.Ordinal) || l.Contains("announcing", StringComparison.Ordinal)).TakeLast(40))}");
            }
        }
    }

    [Test, Order(1)]
    public async Task When_the_announcing_node_dies_another_takes_over_with_gratuitous_ARP_and_the_client_is_served_again()
    {
        StartController();
        foreach (var node in Nodes)
        {
            StartAgent(node);
        }
        var capture = Capture();
        var vip = await ServiceAsync("web");

        // Settled: with all three in the election (under the VM's emulated CPUs each agent's first
        // sync takes half a minute, JIT), the holder is the node rendezvous hashing prefers, and it
        // has sent its three gratuitous ARPs.
        var holder = Rendezvous.Preferred(IPAddressValue.Parse(vip), Nodes)!;
        await SoleHolderAsync(vip, [holder], TimeSpan.FromMinutes(4));
        var holderMac = await MacOfAsync(holder);
        await Eventually.TrueAsync(() => capture.Count(l => l.Line.Contains($"{holderMac} > ff:ff:ff:ff:ff:ff", StringComparison.Ordinal)
            && l.Line.Contains($"Request who-has {vip} tell {vip}", StringComparison.Ordinal)) >= 3, $"{holder} has sent its three gratuitous ARPs", TimeSpan.FromMinutes(1));
        await client.AnswerAsync(vip, a => a == $"bk {AddressOf(holder)}", $"the client reaches the backend through {holder}, which source-NATs");
        // The client forgets the VIP and asks again: only the holder may answer.
        await Sh($"ip -n {ClientNs} neigh flush dev eth0");
        var asked = VipClient.Now();
        await client.AnswerAsync(vip, a => a == $"bk {AddressOf(holder)}", "the client is served after asking ARP again");
        await Eventually.TrueAsync(() => capture.Any(l => l.At >= asked && l.Line.Contains($"Reply {vip} is-at", StringComparison.Ordinal)), "the ARP reply was captured");
        capture.Where(l => l.At >= asked && l.Line.Contains($"Reply {vip} is-at", StringComparison.Ordinal)).Select(l => MacIn(l.Line)).Distinct()
            .Should().Equal([holderMac], "only the holder answers ARP for the VIP (arp_ignore=1 on the others, which have it on their dummy interface)");
        var ipvsNodes = new EntityClient<V1Alpha1IPVSNode>(Client);
        foreach (var node in Nodes)
        {
            await Eventually.TrueAsync(async () => (await ipvsNodes.GetAsync(null, node))?.Spec.Build == VipClient.AgentBuild,
                $"{node}'s IPVSNode says the agent is the {VipClient.AgentBuild} build the fixture started");
        }

        var probes = client.Probe(vip, TimeSpan.FromMilliseconds(500));
        await Eventually.TrueAsync(() => probes.Count(p => p.Answer is not null) >= 5, "the prober is served");

        // The node dies: its agent is killed and its link goes down at the same moment, as in a power
        // loss (over netlink from here: starting `ip` takes long enough under emulation to blur the moment).
        using (var route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{holder}", NetlinkConstants.NetlinkRoute)))
        {
            agents[holder].Process.Kill();
            route.SetLinkDown("eth0");
        }
        var died = VipClient.Now();

        var others = Nodes.Where(n => n != holder).ToArray();
        var next = await SoleHolderAsync(vip, others);
        await Eventually.TrueAsync(() => probes.Any(p => p.At > died && p.Answer is not null),
            () => $"the client is served again; probes since the death: {string.Join(", ", probes.Where(p => p.At > died).Select(p => p.Answer ?? "fail"))}", TimeSpan.FromSeconds(60));
        await client.AnswerAsync(vip, a => a == $"bk {AddressOf(next)}", $"the client is served through {next}");

        var newMac = await MacOfAsync(next);
        capture.Should().Contain(l => l.At > died && l.Line.Contains($"{newMac} > ff:ff:ff:ff:ff:ff", StringComparison.Ordinal)
            && l.Line.Contains($"Request who-has {vip} tell {vip}", StringComparison.Ordinal), "the new holder sent a gratuitous ARP request");
        capture.Should().Contain(l => l.At > died && l.Line.Contains($"Reply {vip} is-at {newMac}", StringComparison.Ordinal), "and a gratuitous ARP reply");
        // The outage: from the death to the first answer after it. The probes' spacing bounds how
        // precisely that is seen (under the VM's emulated CPUs one request takes about a second).
        var before = probes.Where(p => p.At < died).ToList();
        var spacing = before.Count > 1 ? (before[^1].At - before[0].At) / (before.Count - 1) : double.NaN;
        var firstServed = probes.Where(p => p.At > died && p.Answer is not null).Min(p => p.At);
        var garp = capture.Where(l => l.At > died && l.Line.Contains($"tell {vip}", StringComparison.Ordinal)).Min(l => l.At);
        var outage = firstServed - died;
        var (renewed, taken) = await TakeoverMomentsAsync(holder, vip);
        var figures = FormattableString.Invariant(
            $"layer 2 failover ({holder} -> {next}): outage {outage:F2} s from the death to the first answer (probes {spacing:F2} s apart); gratuitous ARP {garp - died:F2} s after the death")
            + MadeOf(died, renewed, taken, garp, firstServed);
        RecordFigures(figures);
        // How fast is a benchmark figure (docs/benchmarks.md, under 5 s with default flags); the test
        // holds only a bound that a working failover never crosses, even on a loaded emulated machine.
        outage.Should().BeLessThan(30, "failover happens within a few lease durations");
    }

    [Test, Order(2)]
    public async Task An_agent_that_dies_on_a_live_node_stops_answering_for_the_VIP_when_its_lifetime_runs_out()
    {
        var vip = await EveryNodeUpAsync();
        var live = Nodes;
        var holder = await SoleHolderAsync(vip, live, TimeSpan.FromMinutes(4));
        var survivors = live.Where(n => n != holder).ToArray();

        var died = VipClient.Now();
        agents[holder].Process.Kill();

        await Eventually.TrueAsync(async () => !await OnUplinkAsync(holder, vip), $"the kernel removes {vip} from the dead agent's {holder} by its lifetime", TimeSpan.FromSeconds(15));
        var gone = VipClient.Now() - died;
        var survivor = await SoleHolderAsync(vip, survivors);
        await client.AnswerAsync(vip, a => a == $"bk {AddressOf(survivor)}", $"the client is served through {survivor}");
        var figures = FormattableString.Invariant($"a dead agent's VIP left its interface {gone:F2} s after the kill (address lifetime {Layer2Options.Defaults.AddressLifetime.TotalSeconds} s, lease {Layer2Options.Defaults.LeaseDuration.TotalSeconds} s)");
        RecordFigures(figures);
        gone.Should().BeLessThan(30, "the address lifetime (the lease duration, refreshed while held) runs out without the agent; the figure is recorded above");
    }

    [Test, Order(3)]
    public async Task A_holder_whose_cable_is_pulled_gives_its_VIP_up_and_takes_it_back_when_the_cable_is_back()
    {
        var vip = await EveryNodeUpAsync();
        var holder = Rendezvous.Preferred(IPAddressValue.Parse(vip), Nodes)!;
        await SoleHolderAsync(vip, [holder], TimeSpan.FromMinutes(4));

        // The cable: the bridge's end of the holder's veth goes down, so the holder's eth0 stays up with no carrier.
        await Sh($"ip link set {holder}-p down");

        var others = Nodes.Where(n => n != holder).ToArray();
        var next = await SoleHolderAsync(vip, others);
        await client.AnswerAsync(vip, a => a == $"bk {AddressOf(next)}", $"the client is served through {next}");
        agents[holder].Log.Should().Contain(l => l.Contains("eth0 is up but has no carrier", StringComparison.Ordinal), "the holder says why it left");

        await Sh($"ip link set {holder}-p up");

        await SoleHolderAsync(vip, [holder]);
        await client.AnswerAsync(vip, a => a == $"bk {AddressOf(holder)}", $"the client is served through {holder} again, which rendezvous hashing prefers");
    }

    [Test, Order(4)]
    public async Task An_API_server_outage_of_30_seconds_for_every_node_loses_no_probe()
    {
        var vip = await EveryNodeUpAsync(outageTimings: true);
        var holder = Rendezvous.Preferred(IPAddressValue.Parse(vip), Nodes)!;
        await SoleHolderAsync(vip, [holder], TimeSpan.FromMinutes(4));
        await EveryAgentHearsEveryOtherAsync();
        var probes = client.Probe(vip, TimeSpan.FromMilliseconds(500));
        await Eventually.TrueAsync(() => probes.Count(p => p.Answer is not null) >= 5, "the prober is served");

        // Every request to the API server answered 503 and every watch closed, for 30 s.
        var start = VipClient.Now();
        Server.Faults.FailNext(int.MaxValue, status: HttpStatusCode.ServiceUnavailable);
        Server.CloseAllWatches();
        try
        {
            await Eventually.TrueAsync(() => VipClient.Now() > start + 30, "30 s pass", TimeSpan.FromSeconds(40));
            (await OnUplinkAsync(holder, vip)).Should().BeTrue($"{holder} still announces {vip} at the end of the outage");
        }
        finally
        {
            Server.Faults.Clear();
        }
        var end = VipClient.Now();
        await Eventually.TrueAsync(() => agents[holder].Log.Any(l => l.Contains("reaches the API server again", StringComparison.Ordinal)), $"{holder} renews again");
        await Eventually.TrueAsync(() => probes.Any(p => p.At > end + 5), "five more seconds of probes");

        var during = probes.Where(p => p.At >= start - 1 && p.At <= end + 5).ToList();
        var figures = FormattableString.Invariant($"API server outage of {end - start:F1} s for every node: {during.Count(p => p.Answer is null)} of {during.Count} probes lost");
        RecordFigures(figures);
        during.Should().OnlyContain(p => p.Answer != null, "the holder keeps announcing while every peer confirms that nobody can reach the API server");
        agents[holder].Log.Should().Contain(l => l.Contains("keeps announcing its", StringComparison.Ordinal), "the holder says why it keeps the VIP");
        (await SoleHolderAsync(vip, Nodes)).Should().Be(holder, "nothing moved");
    }

    [Test, Order(5)]
    public async Task A_holder_cut_off_from_the_API_server_and_its_peers_withdraws_before_another_node_takes_over()
    {
        var vip = await EveryNodeUpAsync(outageTimings: true);
        var holder = Rendezvous.Preferred(IPAddressValue.Parse(vip), Nodes)!;
        await SoleHolderAsync(vip, [holder], TimeSpan.FromMinutes(4));
        await EveryAgentHearsEveryOtherAsync();
        using var watch = new CancellationTokenSource();
        var announcers = CountAnnouncers(vip, watch.Token);

        // A partition: the holder still reaches the LAN's clients, but neither the API server nor the other agents.
        await CutAsync(holder, api: true, peers: true);
        try
        {
            var next = await SoleHolderAsync(vip, Nodes.Where(n => n != holder));
            await client.AnswerAsync(vip, a => a == $"bk {AddressOf(next)}", $"the client is served through {next}");
        }
        finally
        {
            await HealAsync(holder);
        }
        await SoleHolderAsync(vip, [holder]);
        await watch.CancelAsync();

        (await announcers).Should().BeLessThanOrEqualTo(1, "no moment in which two nodes announced the VIP");
    }

    [Test, Order(6)]
    public async Task A_node_whose_heartbeats_are_dropped_keeps_its_VIP_while_the_API_server_works_and_says_it_hears_no_peer()
    {
        var vip = await EveryNodeUpAsync(outageTimings: true);
        var holder = Rendezvous.Preferred(IPAddressValue.Parse(vip), Nodes)!;
        await SoleHolderAsync(vip, [holder], TimeSpan.FromMinutes(4));
        await EveryAgentHearsEveryOtherAsync();
        var probes = client.Probe(vip, TimeSpan.FromMilliseconds(500));
        var start = VipClient.Now();

        // A host firewall drops UDP 7947 to and from the holder: the Leases still decide, nothing moves.
        await CutAsync(holder, api: false, peers: true);
        try
        {
            await Eventually.TrueAsync(async () => await MetricAsync(holder, "ipvsoperator_node_peers_unheard") == 2, $"{holder} reports two peers unheard");
            await Eventually.TrueAsync(() => VipClient.Now() > start + 15, "15 s pass", TimeSpan.FromSeconds(30));
            (await SoleHolderAsync(vip, Nodes)).Should().Be(holder);
            probes.Where(p => p.At >= start).Should().OnlyContain(p => p.Answer != null, "the VIP stays served: without heartbeats the Leases decide as before");
            agents[holder].Log.Should().Contain(l => l.Contains("does not hear peer", StringComparison.Ordinal), "the agent says that an outage would now withdraw its VIPs");
        }
        finally
        {
            await HealAsync(holder);
        }
        await EveryAgentHearsEveryOtherAsync();
    }

    [Test, Order(7)]
    public async Task Connections_through_a_droute_VIP_go_on_through_the_new_holder_when_the_holder_dies()
    {
        await EveryNodeUpAsync();
        var vip = await AddressOfAsync("default", "echo") ?? await ServiceAsync("echo", directRouted: true);
        var holder = await SoleHolderAsync(vip, Nodes, TimeSpan.FromMinutes(4));
        await NamespaceLan.HoldForDirectRoutingAsync(BackendNs, vip);
        using var serving = CancellationTokenSource.CreateLinkedTokenSource(stopProbing.Token);
        using var echo = NamespaceLan.ServeLines(BackendNs, line => line, serving.Token);
        foreach (var node in Nodes)
        {
            await Eventually.TrueAsync(async () => await MetricAsync(node, "ipvsoperator_node_connection_sync_daemons{role=\"backup\"}") == 1
                && await MetricAsync(node, "ipvsoperator_node_connection_sync_daemons{role=\"master\"}") == 1, $"{node} runs both sync daemons", TimeSpan.FromMinutes(2));
        }

        var connections = new List<CountingConnection>();
        for (var i = 0; i < 20; i++)
        {
            connections.Add(await CountingConnection.OpenAsync(ClientNs, $"{Lan}.2", 45001 + i, vip, serving.Token));
        }
        var others = Nodes.Where(n => n != holder).ToArray();
        foreach (var node in others)
        {
            var held = 0;
            await Eventually.TrueAsync(async () => (held = await SyncedEntriesAsync(node, vip)) == connections.Count,
                () => $"{node}'s backup holds the 20 connections from {holder}'s master; it holds {held}", TimeSpan.FromMinutes(1));
        }
        await Eventually.TrueAsync(() => connections.All(c => c.Echoed >= 10), "every connection has echoed ten counters");

        using (var route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{holder}", NetlinkConstants.NetlinkRoute)))
        {
            agents[holder].Process.Kill();
            route.SetLinkDown("eth0");
        }
        var died = VipClient.Now();
        var opened = Task.Run(() => CountingConnection.OpenAsync(ClientNs, $"{Lan}.2", 45100, vip, serving.Token, TimeSpan.FromSeconds(60)));

        var next = await SoleHolderAsync(vip, others);
        var (renewed, taken) = await TakeoverMomentsAsync(holder, vip);
        var echoedAtDeath = connections.Select(c => c.Echoed).ToList();
        await Eventually.TrueAsync(() => connections.Select((c, i) => c.Failure is not null || c.Echoed >= echoedAtDeath[i] + 10).All(done => done),
            () => $"every connection echoes ten more counters, or fails; now {string.Join(", ", connections.Select(c => c.Failure ?? c.Echoed.ToString(CultureInfo.InvariantCulture)))}", TimeSpan.FromMinutes(1));
        var late = await opened;
        await Eventually.TrueAsync(() => late.Echoed >= 3, "a connection opened during the stall is served once it ends");
        await serving.CancelAsync();

        var stalls = connections.Select(c => c.LongestStallSince(died)).ToList();
        var survived = connections.Count(c => c.Failure is null);
        var figures = FormattableString.Invariant(
            $"connection sync ({holder} -> {next}, droute): {survived} of {connections.Count} connections survived; longest gap between echoes across the death {stalls.Min():F2}-{stalls.Max():F2} s per connection (median {stalls.Order().ElementAt(stalls.Count / 2):F2} s); a connection opened {late.OpenedAt - died:F2} s after the death got its first echo {late.FirstEchoAt - died:F2} s after it; the VIP taken {taken - died:F2} s after the death ({taken - renewed:F2} s after the dead holder's last renewal)");
        RecordFigures(figures);
        connections.Select(c => c.Failure).Should().AllSatisfy(f => f.Should().BeNull("no connection is reset and no counter is lost or repeated"));
        late.Failure.Should().BeNull();
        foreach (var connection in connections.Append(late))
        {
            connection.Dispose();
        }
    }

    /// <summary>
    /// From the Leases (the agents and this process share the VM's clock): when the dead holder last
    /// renewed its presence, and when the new holder took the VIP's Lease (stamped before the write).
    /// </summary>
    private async Task<(double Renewed, double Taken)> TakeoverMomentsAsync(string deadHolder, string vip)
    {
        static double Seconds(DateTime? at) => at is { } time ? new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)).ToUnixTimeMilliseconds() / 1000.0 : double.NaN;
        var presence = await Client.CoordinationV1.ReadNamespacedLeaseAsync($"ipvs-node-{deadHolder}", WellKnown.NodeNamespace);
        var address = await Client.CoordinationV1.ReadNamespacedLeaseAsync($"ipvs-vip-{AllocationNames.For(IPAddressValue.Parse(vip))}", WellKnown.NodeNamespace);
        return (Seconds(presence.Spec.RenewTime), Seconds(address.Spec.AcquireTime));
    }

    /// <summary>What a takeover's time is made of: the lease wait, the take's write and the ARP, the probes.</summary>
    private static string MadeOf(double died, double renewed, double taken, double garp, double firstServed) => FormattableString.Invariant(
        $"; made of: the dead holder last renewed {died - renewed:F2} s before its death, the VIP was taken {taken - renewed:F2} s after that renewal (lease {Layer2Options.Defaults.LeaseDuration.TotalSeconds} s), its gratuitous ARP {garp - taken:F2} s after the take, the first answer {firstServed - garp:F2} s after the ARP");

    /// <summary>The connection entries for <paramref name="vip"/> that a node's backup daemon made from another node's messages.</summary>
    private static async Task<int> SyncedEntriesAsync(string node, string vip)
    {
        var hex = string.Concat(IPAddress.Parse(vip).GetAddressBytes().Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
        var table = (await RunAsync("ip", ["netns", "exec", node, "cat", "/proc/net/ip_vs_conn_sync"])).Output;
        return table.Split('\n').Count(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, _, _, var to, _, _, _, _, "SYNC", _] && to == hex);
    }

    /// <summary>Prints a test's figures and adds them to failover.txt (in the VM's share, for docs/benchmarks.md).</summary>
    private static void RecordFigures(string figures)
    {
        TestContext.Out.WriteLine(figures);
        File.AppendAllText(Path.Combine(Environment.GetEnvironmentVariable("IPVSOP_SHARE") is { } share ? Path.Combine(share, "out") : Work, "failover.txt"), figures + "\n");
    }

    /// <summary>Until every agent's metrics say it hears every peer and has accepted heartbeats.</summary>
    private static async Task EveryAgentHearsEveryOtherAsync()
    {
        foreach (var node in Nodes)
        {
            await Eventually.TrueAsync(async () => await MetricAsync(node, "ipvsoperator_node_peers_unheard") == 0
                && await MetricAsync(node, "ipvsoperator_node_peer_heartbeats_total{result=\"accepted\"}") > 0, $"{node} hears every peer", TimeSpan.FromSeconds(60));
        }
    }

    private static async Task<double?> MetricAsync(string node, string series)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync($"http://{AddressOf(node)}:8081/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>Drops, inside the node's namespace, its traffic to the API server (on 10.5.0.1) and/or the peer heartbeats (UDP 7947) both ways.</summary>
    private static async Task CutAsync(string node, bool api, bool peers)
    {
        var rules = new List<string>
        {
            "add table inet l2cut",
            "add chain inet l2cut out { type filter hook output priority 0; }",
            "add chain inet l2cut in { type filter hook input priority 0; }",
        };
        if (api)
        {
            rules.Add($"add rule inet l2cut out ip daddr {Lan}.1 drop");
        }
        if (peers)
        {
            rules.Add("add rule inet l2cut out udp dport 7947 drop");
            rules.Add("add rule inet l2cut in udp dport 7947 drop");
        }
        var result = await RunAsync("ip", ["netns", "exec", node, "nft", "-f", "-"], TimeSpan.FromSeconds(30), string.Join('\n', rules) + "\n");
        result.ExitCode.Should().Be(0, result.Output);
    }

    private static async Task HealAsync(string node) => await RunAsync("ip", ["netns", "exec", node, "nft", "delete", "table", "inet", "l2cut"]);

    /// <summary>Samples every node's announcing interface over netlink until cancelled: the most nodes seen with the VIP at once.</summary>
    private static Task<int> CountAnnouncers(string vip, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        var address = IPAddressValue.Parse(vip);
        var most = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var holding = 0;
            foreach (var node in Nodes)
            {
                using var route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{node}", NetlinkConstants.NetlinkRoute));
                holding += route.ListAddresses("eth0").Contains(address) ? 1 : 0;
            }
            most = Math.Max(most, holding);
            await Task.Delay(50, CancellationToken.None);
        }
        return most;
    });

    /// <summary>
    /// Whatever an earlier test left: every node's link up with its default route, every agent
    /// running, the controller started and the Service there; its address.
    /// </summary>
    private async Task<string> EveryNodeUpAsync(bool outageTimings = false)
    {
        StartController();
        if (outageTimings != scaledTimings)
        {
            // The API outage tests run the agents with timings scaled to the emulated machine (below).
            foreach (var agent in agents.Values.Where(a => !a.Process.HasExited))
            {
                agent.Process.Kill();
                await agent.Process.WaitForExitAsync();
            }
            scaledTimings = outageTimings;
        }
        foreach (var node in Nodes)
        {
            using (var route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{node}", NetlinkConstants.NetlinkRoute)))
            {
                route.SetLinkUp("eth0");
            }
            await Sh($"ip -n {node} route replace default via {Lan}.1");
            await RunAsync("ip", ["link", "set", $"{node}-p", "up"]);
            await HealAsync(node); // a cut left by a test that failed
            if (!agents.TryGetValue(node, out var agent) || agent.Process.HasExited)
            {
                StartAgent(node);
            }
        }
        return await AddressOfAsync("default", "web") ?? await ServiceAsync("web");
    }

    /// <summary>
    /// The election's timings: the defaults (the failover figures are for them), or for the outage
    /// tests those times IPVSOP_TEST_TIME_SCALE. Under TCG emulation, with another job on the same
    /// cores, one API call can take over a second and a heartbeat can come late by as much: with
    /// the default 1 s bound on a renewal and 1.5 s window for hearing a peer, the agents then
    /// withdraw and flap with no outage at all (seen on a loaded CI run). Scaled, the same logic is
    /// tested at the speed this machine has; on real hardware the defaults hold.
    /// </summary>
    private string[] Timings() => !scaledTimings ? [] :
    [
        "--lease-duration", FormattableString.Invariant($"{3 * Eventually.Scale}s"),
        "--renew-deadline", FormattableString.Invariant($"{2 * Eventually.Scale}s"),
        "--retry-period", FormattableString.Invariant($"{0.5 * Eventually.Scale}s"),
    ];

    private void StartAgent(string node)
    {
        var (process, log) = VipClient.StartAgent(node, ["--kubeconfig", kubeconfig, "--node-name", node, "--dataplane", "kernel",
            "--state-file", Path.Combine(Work, $"{node}.state"), "--heartbeat-address", AddressOf(node),
            "--connection-sync-interface", "eth0", "--connection-sync-id", SyncId.ToString(CultureInfo.InvariantCulture), .. Timings()]);
        agents[node] = new Agent(node, process, log);
    }

    /// <param name="directRouted">Forward method droute (the backend sees the client's own address), on port 80 both sides; else masq to port 8080.</param>
    private async Task<string> ServiceAsync(string name, bool directRouted = false)
    {
        var service = LoadBalancer(name);
        var backendPort = directRouted ? 80 : 8080;
        service.Spec.Ports[0].TargetPort = backendPort;
        service.Metadata.Annotations = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "l2-lan" };
        if (directRouted)
        {
            service.Metadata.Annotations[WellKnown.Annotations.ForwardMethod] = "droute";
        }
        await Client.CoreV1.CreateNamespacedServiceAsync(service, "default");
        await Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = $"{name}-x1", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = name } },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = backendPort, Protocol = "TCP" }],
            Endpoints = [new V1Endpoint { Addresses = [$"{Lan}.50"], NodeName = Nodes[0], Conditions = new V1EndpointConditions { Ready = true } }],
        }, "default");
        return await WaitForAddressAsync("default", name);
    }

    private static async Task<bool> OnUplinkAsync(string node, string vip) =>
        (await RunAsync("ip", ["-n", node, "-o", "addr", "show", "dev", "eth0"])).Output.Contains($"inet {vip}/32", StringComparison.Ordinal);

    private static async Task<string> SoleHolderAsync(string vip, IEnumerable<string> among, TimeSpan? timeout = null)
    {
        var candidates = among.ToArray();
        string[] holders = [];
        await Eventually.TrueAsync(async () =>
        {
            var on = new List<string>();
            foreach (var node in Nodes)
            {
                if (await OnUplinkAsync(node, vip))
                {
                    on.Add(node);
                }
            }
            holders = [.. on];
            return holders.Length == 1 && candidates.Contains(holders[0]);
        }, () => $"exactly one of {string.Join(", ", candidates)} has {vip} on eth0; now: {string.Join(", ", holders)}", timeout ?? TimeSpan.FromSeconds(90));
        return holders[0];
    }

    private static async Task<string> MacOfAsync(string node) =>
        (await RunAsync("ip", ["-n", node, "-o", "link", "show", "eth0"])).Output
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(w => w != "link/ether").Skip(1).First();

    private static string MacIn(string line) => line.Split(' ').SkipWhile(w => w != "is-at").Skip(1).First().TrimEnd(',');

    /// <summary>tcpdump on the client's interface: every ARP frame, with the time it was seen.</summary>
    private ConcurrentQueue<(double At, string Line)> Capture()
    {
        var lines = new ConcurrentQueue<(double, string)>();
        var process = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", ClientNs, "tcpdump", "-l", "-n", "-e", "-tt", "-i", "eth0", "arp"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && double.TryParse(line.Split(' ')[0], CultureInfo.InvariantCulture, out var at))
            {
                lines.Enqueue((at, line));
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        helpers.Add(process);
        return lines;
    }
}
