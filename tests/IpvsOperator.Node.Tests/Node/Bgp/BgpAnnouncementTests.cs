using System.Text;
using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Node.Bgp;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node.Bgp;

/// <summary>
/// BGP announcement by the node agent against LocalCluster and the controller, with the in-memory
/// FRR twin (held to FRR by <c>FrrSpeakerContractTests</c>): what FRR is told, what the IPVSNode
/// shows, and the withdrawals.
/// </summary>
public class BgpAnnouncementTests : ControllerFixture
{
    private readonly List<(Task Run, CancellationTokenSource Stop)> agents = [];
    private EntityClient<V1Alpha1BGPPeer> peers = null!;
    private EntityClient<V1Alpha1IPVSNode> nodes = null!;

    [OneTimeSetUp]
    public async Task CreateNodeNamespaceAsync()
    {
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = WellKnown.NodeNamespace } });
        peers = new EntityClient<V1Alpha1BGPPeer>(Client);
        nodes = new EntityClient<V1Alpha1IPVSNode>(Client);
    }

    [TearDown]
    public async Task StopAgentsAsync()
    {
        foreach (var (run, stop) in agents)
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
        }
        agents.Clear();
        foreach (var peer in (await peers.ListAllAsync()).Items)
        {
            await peers.DeleteAsync(null, peer.Metadata.Name);
        }
    }

    private (NodeAgent Agent, InMemoryBgpSpeaker Speaker, CancellationTokenSource Stop, Task Run) StartAgent(string node = "node-a", NodeDataplane? dataplane = null, bool layer2 = false,
        string secretNamespace = WellKnown.NodeNamespace, BgpOptions? bgp = null, TimeSpan? syncPeriod = null, ILoggerFactory? loggers = null)
    {
        dataplane ??= NodeDataplaneFactory.InMemory();
        var speaker = (InMemoryBgpSpeaker)dataplane.Bgp!;
        var agent = new NodeAgent(ApiConnection.Of(Client), dataplane, new NodeAgentOptions
        {
            NodeName = node,
            SyncPeriod = syncPeriod ?? TimeSpan.FromMilliseconds(300),
            Bgp = bgp ?? new BgpOptions { SessionPoll = TimeSpan.FromMilliseconds(200), VerifyPeriod = TimeSpan.FromMilliseconds(500), SecretNamespace = secretNamespace },
            Layer2 = layer2 ? new IpvsOperator.Node.Announcement.Layer2Options { Namespace = WellKnown.NodeNamespace } : null,
        }, loggers ?? NullLoggerFactory.Instance);
        var stop = new CancellationTokenSource();
        var run = Task.Run(() => agent.RunAsync(stop.Token));
        agents.Add((run, stop));
        return (agent, speaker, stop, run);
    }

    private async Task<V1Alpha1IPPool> CreateAnnouncedPoolAsync(string name, string range, PoolAnnouncement? announce) =>
        await Pools.CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = name }, Spec = new IPPoolSpec { Addresses = [range], AutoAssign = false, Announce = announce } });

    private async Task<(string Ns, IPAddressValue Vip)> ServiceFromAsync(string pool, string name = "web", string? ns = null)
    {
        ns ??= await NewNamespaceAsync();
        StartController();
        await CreateServiceAsync(ns, name, new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = pool });
        return (ns, IPAddressValue.Parse(await WaitForAddressAsync(ns, name)));
    }

    private Task<V1Alpha1BGPPeer> CreatePeerAsync(string name, string address, Action<BGPPeerSpec>? change = null)
    {
        var spec = new BGPPeerSpec { PeerAddress = address, PeerASN = 64500, LocalASN = 64512 };
        change?.Invoke(spec);
        return peers.CreateAsync(new V1Alpha1BGPPeer { Metadata = new V1ObjectMeta { Name = name }, Spec = spec });
    }

    private async Task<IPVSNodeBgp?> ShownAsync(string node = "node-a") => (await nodes.GetAsync(null, node))?.Status?.Bgp;

    [Test]
    public async Task A_VIP_of_a_BGP_pool_is_announced_to_the_peers_with_its_communities_and_the_IPVSNode_shows_each_session()
    {
        await CreateAnnouncedPoolAsync("bgp-basic", "198.51.100.200/30", new PoolAnnouncement
        {
            Modes = [PoolAnnouncement.BgpMode],
            Bgp = new PoolBgpAnnouncement { Communities = ["64500:100"], LocalPreference = 120 },
        });
        var (_, vip) = await ServiceFromAsync("bgp-basic");
        await CreatePeerAsync("tor-a", "10.0.0.254", s => (s.Bfd, s.HoldTime, s.KeepaliveTime) = (new BfdProfileSpec(), "9s", "3s"));

        var (agent, speaker, _, _) = StartAgent();

        await Eventually.TrueAsync(() => speaker.Networks.Contains($"{vip}/32"), () => $"FRR is told to announce {vip}; it holds {speaker.Configuration}");
        speaker.Configuration.Should().Contain("neighbor 10.0.0.254 remote-as 64500").And.Contain("neighbor 10.0.0.254 timers 3 9").And.Contain("neighbor 10.0.0.254 bfd")
            .And.Contain($"network {vip}/32 route-map ipvs-attributes-1").And.Contain("set community 64500:100 additive").And.Contain("set local-preference 120");
        IPVSNodeBgp? shown = null;
        await Eventually.TrueAsync(async () => (shown = await ShownAsync()) is { Established: "1/1", PrefixesAnnounced: >= 1 }
                && shown.Sessions!.Single() is { Peer: "tor-a", Address: "10.0.0.254", State: "Established", PrefixesAdvertised: >= 1 },
            () => $"the IPVSNode shows the session; now {KubernetesJson.Serialize(shown)}");
        (await nodes.GetAsync(null, "node-a"))!.Status.Vips!.Single(v => v.Address == vip.ToString()).Announced.Should().Be("bgp");
        agent.AnnouncingOverBgp.Should().Contain(vip);
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e =>
            e.Reason == "BgpSessionEstablished" && e.InvolvedObject.Name == "node-a" && e.Message.StartsWith("BGP session with BGPPeer tor-a (10.0.0.254) established", StringComparison.Ordinal)),
            "an Event on the Node says the session is up");
        IpvsOperator.Node.NodeMetrics.BgpSessionUp.WithLabels("tor-a").Value.Should().Be(1);

        using var kubectl = new KubectlSession(Server);
        var table = await kubectl.RunAsync("get", "ipvsnodes", "-o", "wide");
        table.ExitCode.Should().Be(0, table.Error);
        table.Output.Should().MatchRegex(@"NAME\s+READY\s+VIPS\s+ANNOUNCED\s+SERVICES\s+DESTINATIONS\s+LAST SYNC\s+SYNCED\s+VERSION\s+ANNOUNCE\s+BGP\s+BGP SESSIONS")
            .And.MatchRegex(@"node-a\s+true\s+\d+\s+\d+\s+\d+\s+\d+\s+ok\s+\S+\s+\S+\s+bgp\s+1/1\s+tor-a: Established, \d+ prefix(es)?");
        var peerTable = await kubectl.RunAsync("get", "bgppeers", "-o", "wide");
        peerTable.ExitCode.Should().Be(0, peerTable.Error);
        peerTable.Output.Should().MatchRegex(@"NAME\s+ADDRESS\s+PEER ASN\s+LOCAL ASN\s+BFD INTERVAL\s+BFD MULTIPLIER\s+AGE")
            .And.MatchRegex(@"tor-a\s+10\.0\.0\.254\s+64500\s+64512\s+300\s+3\s+\S+", "BFD's interval in milliseconds, not a bare multiplier under the name BFD");
    }

    [Test]
    public async Task A_session_that_goes_down_or_a_peer_without_its_password_Secret_is_shown_with_the_reason_and_an_Event()
    {
        await CreateAnnouncedPoolAsync("bgp-down", "198.51.100.204/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        await ServiceFromAsync("bgp-down");
        await CreatePeerAsync("tor-b", "10.0.0.253");
        await CreatePeerAsync("tor-secret", "10.0.0.252", s => s.PasswordSecret = new SecretKeyReference { Name = "tor-secret" });
        var (_, speaker, _, _) = StartAgent();
        await Eventually.TrueAsync(async () => await ShownAsync() is { Established: "1/2" } shown
                && shown.Sessions!.Single(s => s.Peer == "tor-secret") is { State: "NotConfigured" } missing
                && missing.Message == $"its password Secret {WellKnown.NodeNamespace}/tor-secret does not exist",
            "the peer without its Secret is not configured, and the status says why");
        speaker.Configuration.Should().NotContain("10.0.0.252", "a session without its password is not opened at all");

        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "tor-secret" },
            Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes("s3cret") },
        }, WellKnown.NodeNamespace);
        await Eventually.TrueAsync(async () => await ShownAsync() is { Established: "2/2" }, "with the Secret the session is configured and comes up");
        speaker.Configuration.Should().Contain("neighbor 10.0.0.252 password s3cret");

        speaker.Refuse(IPAddressValue.Parse("10.0.0.253"), "Bad Peer AS");
        await Eventually.TrueAsync(async () => await ShownAsync() is { Established: "1/2" } shown
                && shown.Sessions!.Single(s => s.Peer == "tor-b") is { State: "Active", Message: "Bad Peer AS", Summary: "tor-b: Active" },
            "a session that goes down shows its state and the peer's reason");
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e =>
            e is { Reason: "BgpSessionDown", Type: "Warning" } && e.Message == "BGP session with BGPPeer tor-b (10.0.0.253) is Active: Bad Peer AS"),
            "a Warning Event on the Node says it went down and why");
        IpvsOperator.Node.NodeMetrics.BgpSessionUp.WithLabels("tor-b").Value.Should().Be(0);

        using var kubectl = new KubectlSession(Server);
        var table = await kubectl.RunAsync("get", "ipvsnodes", "-o", "wide");
        table.ExitCode.Should().Be(0, table.Error);
        table.Output.Should().MatchRegex(@"1/2\s+tor-b: Active; tor-secret: Established, \d+ prefix(es)?\s*$",
            "the sessions read one from the next: kubectl joins a list's values with a bare comma, so the agent writes one line");
    }

    [Test]
    public async Task Agents_installed_in_another_namespace_read_the_password_Secrets_from_their_own()
    {
        await CreateAnnouncedPoolAsync("bgp-elsewhere", "198.51.100.232/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        await ServiceFromAsync("bgp-elsewhere");
        var agentsNamespace = await NewNamespaceAsync("lb-system");
        await CreatePeerAsync("tor-elsewhere", "10.0.0.251", s => s.PasswordSecret = new SecretKeyReference { Name = "tor-elsewhere" });
        // The same name in ipvs-operator-node, with another password: not the one to use.
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "tor-elsewhere" },
            Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes("not-this-one") },
        }, WellKnown.NodeNamespace);
        var (_, speaker, _, _) = StartAgent(secretNamespace: agentsNamespace);
        await Eventually.TrueAsync(async () => (await ShownAsync())?.Sessions?.SingleOrDefault() is { State: "NotConfigured" } missing
                && missing.Message == $"its password Secret {agentsNamespace}/tor-elsewhere does not exist",
            "the status names the Secret where the agent looks for it");

        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "tor-elsewhere" },
            Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes("s3cret") },
        }, agentsNamespace);
        await Eventually.TrueAsync(async () => await ShownAsync() is { Established: "1/1" }, "with the Secret in the agents' namespace the session comes up");
        speaker.Configuration.Should().Contain("neighbor 10.0.0.251 password s3cret").And.NotContain("not-this-one");
    }

    [Test]
    public async Task Layer_2_and_BGP_announce_only_the_pools_that_ask_for_them_and_a_deleted_Service_s_route_is_withdrawn()
    {
        await CreateAnnouncedPoolAsync("bgp-only", "198.51.100.208/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        await CreateAnnouncedPoolAsync("l2-only", "198.51.100.212/30", new PoolAnnouncement { Modes = [PoolAnnouncement.Layer2Mode] });
        await CreateAnnouncedPoolAsync("both-ways", "198.51.100.216/30", null);
        var ns = await NewNamespaceAsync();
        var (_, routed) = await ServiceFromAsync("bgp-only", "routed", ns);
        var (_, switched) = await ServiceFromAsync("l2-only", "switched", ns);
        var (_, both) = await ServiceFromAsync("both-ways", "both", ns);
        await CreatePeerAsync("tor-c", "10.0.0.251");

        var (agent, speaker, _, _) = StartAgent(layer2: true);

        await Eventually.TrueAsync(() => agent.Announcing.Contains(switched) && agent.Announcing.Contains(both) && agent.AnnouncingOverBgp.Contains(routed) && agent.AnnouncingOverBgp.Contains(both),
            () => $"layer 2 holds {string.Join(", ", agent.Announcing)}; BGP announces {string.Join(", ", agent.AnnouncingOverBgp)}");
        agent.Announcing.Should().NotContain(routed, "a BGP-only pool is not answered for on the LAN");
        speaker.Networks.Should().NotContain($"{switched}/32", "a layer 2 only pool is not routed");
        await Eventually.TrueAsync(async () => (await nodes.GetAsync(null, "node-a"))?.Status?.Vips?.SingleOrDefault(v => v.Address == both.ToString())?.Announced == "l2,bgp",
            "the IPVSNode says how each VIP is announced");

        await Client.CoreV1.DeleteNamespacedServiceAsync("routed", ns);
        await Eventually.TrueAsync(() => !speaker.Networks.Contains($"{routed}/32"), "the deleted Service's route is withdrawn");
        speaker.Networks.Should().Contain($"{both}/32");
    }

    [Test]
    public async Task A_node_whose_syncs_keep_failing_withdraws_its_routes_and_announces_them_again_once_it_syncs()
    {
        await CreateAnnouncedPoolAsync("bgp-failing", "198.51.100.220/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        var (_, vip) = await ServiceFromAsync("bgp-failing");
        await CreatePeerAsync("tor-d", "10.0.0.250");
        var ipvs = new IpvsOperator.Tests.Node.NodeAgentTests.UnavailableIpvs(new InMemoryIpvs()) { Available = true };
        var (agent, speaker, _, _) = StartAgent(dataplane: NodeDataplaneFactory.InMemory() with { Ipvs = ipvs });
        await Eventually.TrueAsync(() => speaker.Networks.Contains($"{vip}/32"), "announced while the node syncs");

        ipvs.Available = false;

        await Eventually.TrueAsync(() => !agent.IsReady && speaker.Networks.Count == 0, "a node that is not ready announces nothing");
        speaker.Configuration.Should().Contain("neighbor 10.0.0.250 remote-as", "the session stays up, so routers hear of the node's return at once");
        await Eventually.TrueAsync(async () => await ShownAsync() is { Withdrawn: { } why } && why.StartsWith("its syncs are failing", StringComparison.Ordinal),
            "the IPVSNode says why the node announces nothing");

        ipvs.Available = true;
        await Eventually.TrueAsync(() => agent.IsReady && speaker.Networks.Contains($"{vip}/32"), "announced again once a sync completes");
    }

    [Test]
    public async Task An_FRR_that_cannot_be_reached_makes_the_node_unready_with_the_reason_and_an_Event_until_it_answers_again()
    {
        await CreateAnnouncedPoolAsync("bgp-unreachable", "198.51.100.228/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        var (_, vip) = await ServiceFromAsync("bgp-unreachable");
        await CreatePeerAsync("tor-f", "10.0.0.248");
        var dataplane = NodeDataplaneFactory.InMemory();
        var speaker = (InMemoryBgpSpeaker)dataplane.Bgp!;
        speaker.Failure = new InvalidOperationException("vtysh: failed to connect to any daemons");

        var (agent, _, _, _) = StartAgent(dataplane: dataplane);

        await Eventually.TrueAsync(async () => await ShownAsync() is { Problem: { } problem } && problem.Contains("failed to connect to any daemons", StringComparison.Ordinal),
            "the IPVSNode says FRR cannot be configured, and why");
        await Eventually.TrueAsync(() => !agent.IsReady, "an agent whose FRR keeps refusing is not ready: a rollout stops there");
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e =>
            e is { Reason: "BgpConfigurationFailed", Type: "Warning" } && e.InvolvedObject.Name == "node-a" && e.Message.Contains("failed to connect to any daemons", StringComparison.Ordinal)),
            "a Warning Event on the Node says so once");

        speaker.Failure = null;

        await Eventually.TrueAsync(() => agent.IsReady && speaker.Networks.Contains($"{vip}/32"), "configured and ready once FRR answers");
        await Eventually.TrueAsync(async () => await ShownAsync() is { Problem: null, Established: "1/1" }, "the problem goes from the status");

        // Only the sessions cannot be read, for a moment: said, and gone once they can.
        speaker.ReadFailure = new InvalidOperationException("vtysh: bgpd is not running");
        await Eventually.TrueAsync(async () => await ShownAsync() is { Problem: { } readProblem } && readProblem.Contains("bgpd is not running", StringComparison.Ordinal),
            "the status says the sessions cannot be read");
        speaker.ReadFailure = null;
        await Eventually.TrueAsync(async () => await ShownAsync() is { Problem: null, Established: "1/1" }, "and stops saying it once they can");
    }

    [Test]
    public async Task When_a_reload_fails_after_FRR_took_it_the_IPVSNode_shows_the_sessions_as_FRR_has_them_and_the_failure()
    {
        await CreateAnnouncedPoolAsync("bgp-late", "198.51.100.240/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        await ServiceFromAsync("bgp-late");
        await CreatePeerAsync("tor-late", "10.0.0.250");
        var dataplane = NodeDataplaneFactory.InMemory();
        var speaker = (InMemoryBgpSpeaker)dataplane.Bgp!;
        StartAgent(dataplane: dataplane);
        await Eventually.TrueAsync(async () => await ShownAsync() is { Established: "1/1" }, "the session is up");

        // A slow FRR: the reload for the new ASN takes effect but runs past the agent's bound.
        speaker.ApplyFailure = new InvalidOperationException("/usr/lib/frr/frr-reload.py did not finish within 00:02:00: killed");
        speaker.Refuse(IPAddressValue.Parse("10.0.0.250"), "OPEN Message Error/Bad Peer AS");
        await peers.PatchAsync(null, "tor-late", """{"spec":{"peerASN":64999}}""");

        IPVSNodeBgp? shown = null;
        await Eventually.TrueAsync(async () => (shown = await ShownAsync()) is { Established: "0/1", Problem: { } problem }
                && problem.Contains("did not finish within", StringComparison.Ordinal)
                && shown.Sessions!.Single() is { State: not "Established", Message: { } message } && message.Contains("Bad Peer AS", StringComparison.Ordinal),
            () => $"the session FRR now has, not the one from before the reload, beside the reload's failure; shown {KubernetesJson.Serialize(shown)}");
    }

    [Test]
    public async Task A_password_FRR_prints_when_it_refuses_a_peer_reaches_no_status_Event_or_log_line()
    {
        const string Password = "s3cret-pw-9";
        await CreateAnnouncedPoolAsync("bgp-redact", "198.51.100.244/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        await ServiceFromAsync("bgp-redact");
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "tor-redact" },
            Data = new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes(Password) },
        }, WellKnown.NodeNamespace);
        // The peer's address is the node's own: bgpd refuses it, and frr-reload prints the lines it could not apply.
        await CreatePeerAsync("tor-redact", "10.0.0.11", s => s.PasswordSecret = new SecretKeyReference { Name = "tor-redact" });
        var tools = Directory.CreateTempSubdirectory("fake-frr-").FullName;
        // bgpd refuses the peer whichever way the text comes: vtysh -f (an FRR without BGP takes it so) or frr-reload.
        Script(Path.Combine(tools, "vtysh"), $$"""
            case "$*" in
              *"show running-config"*) echo "frr version 8.4" ;;
              *"json"*) echo "{}" ;;
              *" -f "*) echo "line 9: % Can not configure the local system as neighbor: neighbor 10.0.0.11 password {{Password}}" >&2; exit 1 ;;
            esac
            """);
        Script(Path.Combine(tools, "frr-reload.py"), $"""
            echo "line 12: % Unknown command[4]: neighbor 10.0.0.11 password {Password}" >&2
            echo "Failed to execute router bgp 64512  neighbor 10.0.0.11 password {Password}: % Can not configure the local system as neighbor ({Password})" >&2
            exit 1
            """);
        using var logs = new CollectingLoggerProvider();
        var speaker = new IpvsOperator.Dataplane.Bgp.FrrSpeaker(new IpvsOperator.Dataplane.Bgp.FrrPaths(tools, Path.Combine(tools, "frr.conf"), tools, Path.Combine(tools, "frr-reload.py")),
            logs.Factory.CreateLogger("FrrSpeaker"), TimeSpan.FromSeconds(60));
        var agent = new NodeAgent(ApiConnection.Of(Client), NodeDataplaneFactory.InMemory() with { Bgp = speaker }, new NodeAgentOptions
        {
            NodeName = "node-a",
            SyncPeriod = TimeSpan.FromMilliseconds(300),
            Bgp = new BgpOptions { SessionPoll = TimeSpan.FromMilliseconds(200), VerifyPeriod = TimeSpan.FromMilliseconds(500) },
        }, logs.Factory);
        var stop = new CancellationTokenSource();
        agents.Add((Task.Run(() => agent.RunAsync(stop.Token)), stop));

        IPVSNodeBgp? shown = null;
        await Eventually.TrueAsync(async () => (shown = await ShownAsync()) is { Problem: { } problem } && problem.Contains("Can not configure the local system as neighbor", StringComparison.Ordinal),
            () => $"the IPVSNode says why FRR refused; it shows {KubernetesJson.Serialize(shown)}");
        shown!.Problem.Should().Contain("neighbor 10.0.0.11 password <redacted>").And.NotContain(Password);
        Corev1Event? refused = null;
        await Eventually.TrueAsync(async () => (refused = (await Client.CoreV1.ListNamespacedEventAsync("default")).Items.FirstOrDefault(e =>
            e is { Reason: "BgpConfigurationFailed" } && e.InvolvedObject.Name == "node-a" && e.Message.Contains("local system", StringComparison.Ordinal))) is not null, "a Warning Event says so");
        refused!.Message.Should().Contain("password <redacted>").And.NotContain(Password);
        logs.Entries.Should().Contain(e => e.Message.Contains("password <redacted>", StringComparison.Ordinal), "the refusal is logged, redacted");
        logs.Entries.Where(e => e.Message.Contains(Password, StringComparison.Ordinal) || e.Exception?.ToString().Contains(Password, StringComparison.Ordinal) == true)
            .Select(e => e.Message).Should().BeEmpty("no log line carries the password");
        File.ReadAllText(Path.Combine(tools, "frr.conf")).Should().Contain($"neighbor 10.0.0.11 password {Password}", "FRR itself is given it");
    }

    private static void Script(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Test]
    public async Task A_stopping_agent_withdraws_its_routes_and_leaves_the_kernel_serving()
    {
        await CreateAnnouncedPoolAsync("bgp-stop", "198.51.100.224/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        var (_, vip) = await ServiceFromAsync("bgp-stop");
        await CreatePeerAsync("tor-e", "10.0.0.249");
        var dataplane = NodeDataplaneFactory.InMemory();
        using var logs = new CollectingLoggerProvider();
        var (_, speaker, stop, run) = StartAgent(dataplane: dataplane, loggers: logs.Factory);
        await Eventually.TrueAsync(() => speaker.Networks.Contains($"{vip}/32"), "announced");

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        speaker.Networks.Should().BeEmpty("a stopping agent withdraws its routes first");
        speaker.Configuration.Should().Contain("neighbor 10.0.0.249 remote-as");
        dataplane.Ipvs.ListServices().Should().Contain(s => s.Key.Address == vip, "the kernel keeps serving what still reaches the node");
        logs.Entries.Should().Contain(e => e.Message.StartsWith("BGP: withdrew ", StringComparison.Ordinal) && e.Message.EndsWith(" (the agent is stopping)", StringComparison.Ordinal));
    }

    [Test]
    public async Task A_stopping_agent_that_cannot_withdraw_says_so_rather_than_that_it_withdrew()
    {
        await CreateAnnouncedPoolAsync("bgp-stuck", "198.51.100.248/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        var (_, vip) = await ServiceFromAsync("bgp-stuck");
        await CreatePeerAsync("tor-stuck", "10.0.0.248");
        using var logs = new CollectingLoggerProvider();
        var (_, speaker, stop, run) = StartAgent(loggers: logs.Factory);
        await Eventually.TrueAsync(() => speaker.Networks.Contains($"{vip}/32"), "announced");

        speaker.Failure = new InvalidOperationException("vtysh did not finish within 00:02:00");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        speaker.Failure = null;
        speaker.Networks.Should().Contain($"{vip}/32", "FRR could not be told");
        logs.Entries.Should().Contain(e => e.Level == LogLevel.Error && e.Message.StartsWith("BGP: could not withdraw ", StringComparison.Ordinal) && e.Message.Contains("(the agent is stopping)", StringComparison.Ordinal)
            && e.Message.Contains("vtysh did not finish", StringComparison.Ordinal));
        logs.Entries.Should().NotContain(e => e.Message.StartsWith("BGP: withdrew", StringComparison.Ordinal), "the log must not say the routes went");
    }
    [Test]
    public async Task While_a_session_is_down_the_agent_reads_the_sessions_more_often_to_catch_why()
    {
        // FRR shows a failed session's NOTIFICATION only until BFD or a retry resets it: read every
        // poll of five seconds, a wrong ASN would mostly show as "BFD down received".
        await CreateAnnouncedPoolAsync("bgp-slow-poll", "198.51.100.236/30", new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode] });
        await ServiceFromAsync("bgp-slow-poll");
        await CreatePeerAsync("tor-slow-poll", "10.0.0.251");
        var dataplane = NodeDataplaneFactory.InMemory();
        var speaker = (InMemoryBgpSpeaker)dataplane.Bgp!;
        speaker.Refuse(IPAddressValue.Parse("10.0.0.251"), "OPEN Message Error/Bad Peer AS");
        var hour = TimeSpan.FromHours(1);
        StartAgent(dataplane: dataplane, syncPeriod: hour,
            bgp: new BgpOptions { SessionPoll = hour, VerifyPeriod = hour, DownSessionPoll = TimeSpan.FromMilliseconds(100) });

        await Eventually.TrueAsync(async () => (await ShownAsync())?.Sessions?.SingleOrDefault() is { State: "Active", Message: "OPEN Message Error/Bad Peer AS" },
            "the IPVSNode shows the session down and why");
        var before = speaker.Reads;
        await Eventually.TrueAsync(() => speaker.Reads >= before + 5, () => $"the sessions are read again and again while one is down, not once an hour; {speaker.Reads - before} reads", TimeSpan.FromSeconds(30));

        speaker.Accept(IPAddressValue.Parse("10.0.0.251"));
        await Eventually.TrueAsync(async () => (await ShownAsync())?.Established == "1/1", "established once the peer accepts");
    }
}
