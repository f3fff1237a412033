using IpvsOperator.Commands;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Support;
using static IpvsOperator.Tests.Support.Processes;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Node.Kernel;

/// <summary>
/// End to end in the kernel VM, in one process: LocalCluster, the controller and the node agent on
/// the real kernel. This VM's root namespace is the load-balancing node "node-a". On a LAN bridge
/// with it: a client, and "node-b", a namespace standing for another node, whose pods answer through
/// node-b and not through node-a (so without source NAT their replies would reach the client from
/// the wrong address and every connection would fail). One pod runs on node-a itself.
/// Every address here is one the test assigned, inside namespaces it created (the LAN is 10.3.0.0/24,
/// apart from the subnets of the other kernel fixtures).
/// </summary>
[Category("Kernel")]
[NonParallelizable]
public class NodeAgentKernelTests : ControllerFixture
{
    private const string ClientAddress = "10.3.0.2";
    private const string Director = "10.3.0.1";
    private const string Pool = "198.51.100.0/28";
    private static readonly string Www = Path.Combine(Path.GetTempPath(), "ipvsop-node-e2e");
    private readonly List<System.Diagnostics.Process> servers = [];
    private CancellationTokenSource stopAgent = null!;
    private Task agentRun = null!;
    private NodeHost host = null!;

    private static readonly Dictionary<string, (string Address, string Node)> Pods = new()
    {
        ["pa1"] = ("10.244.1.11", "node-a"),
        ["pb1"] = ("10.244.2.11", "node-b"),
        ["pb2"] = ("10.244.2.12", "node-b"),
    };

    [OneTimeSetUp]
    public async Task BuildNetworkAndStartAgentAsync()
    {
        KernelRequirement.Ipvs();
        await Sh("ip link add lan0 type bridge");
        await Sh($"ip addr add {Director}/24 dev lan0");
        await Sh("ip link set lan0 up");
        await JoinLanAsync("lan0", "lc", "lc0", $"{ClientAddress}/24");
        await Sh($"ip -n lc route add 198.51.100.0/24 via {Director}");
        await JoinLanAsync("lan0", "nb", "nb0", "10.3.0.3/24");
        await Sh("ip netns exec nb sysctl -qw net.ipv4.ip_forward=1");
        await Sh("ip route add 10.244.2.0/24 via 10.3.0.3");
        foreach (var (pod, (address, node)) in Pods)
        {
            var (nodeNs, gateway) = node == "node-a" ? (null as string, Director) : ("nb", "10.3.0.3");
            await Sh($"ip netns add {pod}");
            await Sh(nodeNs is null ? $"ip link add {pod} type veth peer name eth0 netns {pod}" : $"ip link add {pod} netns {nodeNs} type veth peer name eth0 netns {pod}");
            var onNode = nodeNs is null ? "ip" : $"ip -n {nodeNs}";
            await Sh($"{onNode} link set {pod} up");
            await Sh($"{onNode} route add {address}/32 dev {pod}");
            await Sh($"ip -n {pod} link set lo up");
            await Sh($"ip -n {pod} link set eth0 up");
            await Sh($"ip -n {pod} addr add {address}/32 dev eth0");
            await Sh($"ip -n {pod} route add {gateway} dev eth0");
            await Sh($"ip -n {pod} route add default via {gateway} dev eth0 onlink");
            // The backend answers with its name and the client address it sees.
            var cgi = Path.Combine(Www, pod, "cgi-bin");
            Directory.CreateDirectory(cgi);
            await File.WriteAllTextAsync(Path.Combine(cgi, "who"), $"#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n{pod} %s\\n' \"$REMOTE_ADDR\"\n");
            await Sh($"chmod 755 {Path.Combine(cgi, "who")}");
            StartPodServer(pod);
        }

        await CreatePoolAsync("kernel-e2e", Pool);
        host = new NodeHost(new NodeHostOptions
        {
            Kubeconfig = WriteKubeconfig(),
            Dataplane = DataplaneKind.Kernel,
            MetricsPort = 0,
            // Every address of the node, as in a cluster: the VIP must still not reach it.
            Bind = System.Net.IPAddress.Any,
            Agent = new NodeAgentOptions
            {
                NodeName = "node-a",
                SyncPeriod = TimeSpan.FromSeconds(2),
                DrainTimeout = TimeSpan.FromSeconds(2),
                StateFile = Path.Combine(Www, "bound-addresses"),
            },
        }, ProgressLoggerProvider.Factory());
        stopAgent = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        agentRun = Task.Run(() => host.RunAsync(stopAgent.Token, started));
        await Task.WhenAny(started.Task, agentRun);
        await Eventually.TrueAsync(() => agentRun.IsCompleted || host.Agent?.IsReady == true, "the agent has synced once");
        agentRun.IsCompleted.Should().BeFalse("the agent runs");
    }

    [OneTimeTearDown]
    public async Task StopAgentAsync()
    {
        if (stopAgent is not null) // null when the set-up was skipped or failed before the agent
        {
            await stopAgent.CancelAsync();
            await agentRun.WaitAsync(TimeSpan.FromSeconds(30));
            stopAgent.Dispose();
        }
        servers.ForEach(s => { s.Kill(); s.Dispose(); });
        // Leave the VM as the next fixture expects it: no namespaces, links or routes of ours.
        foreach (var name in Pods.Keys.Concat(["lc", "nb"]))
        {
            await Processes.RunAsync("ip", ["netns", "del", name]);
        }
        await Processes.RunAsync("ip", ["link", "del", "lan0"]);
        await Processes.RunAsync("ip", ["route", "del", "10.244.2.0/24"]);
    }

    private readonly Dictionary<string, System.Diagnostics.Process> podServers = [];

    private void StartPodServer(string pod)
    {
        var server = System.Diagnostics.Process.Start("ip", ["netns", "exec", pod, "busybox", "httpd", "-f", "-p", "8080", "-h", Path.Combine(Www, pod)]);
        servers.Add(server);
        podServers[pod] = server;
    }

    /// <summary>The pod's server stops; the pod itself stays, Ready in its EndpointSlice.</summary>
    private void StopPodServer(string pod)
    {
        podServers[pod].Kill();
        podServers[pod].WaitForExit();
    }

    private string WriteKubeconfig()
    {
        var path = Path.Combine(Www, "kubeconfig");
        Directory.CreateDirectory(Www);
        Server.WriteKubeconfig(path);
        return path;
    }

    private Task<(string Ns, string Vip)> ServeAsync(string name, string policy = "Cluster", params string[] pods) => ServeAsync(name, policy, [], pods);

    private async Task<(string Ns, string Vip)> ServeAsync(string name, string policy, Dictionary<string, string> annotations, params string[] pods)
    {
        StartController();
        var ns = await NewNamespaceAsync();
        var service = LoadBalancer(name);
        service.Spec.ExternalTrafficPolicy = policy;
        service.Metadata.Annotations = new Dictionary<string, string>(annotations) { [WellKnown.Annotations.AddressPool] = "kernel-e2e" };
        await Client.CoreV1.CreateNamespacedServiceAsync(service, ns);
        await PublishAsync(ns, name, pods);
        return (ns, await WaitForAddressAsync(ns, name));
    }

    private async Task PublishAsync(string ns, string service, params string[] pods)
    {
        var slice = new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = $"{service}-x1", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service } },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
            Endpoints = [.. pods.Select(p => new V1Endpoint { Addresses = [Pods[p].Address], NodeName = Pods[p].Node, Conditions = new V1EndpointConditions { Ready = true } })],
        };
        await PublishSliceAsync(ns, slice);
    }

    /// <summary>One HTTP request from the client namespace: "pod client-address-seen", or null when it failed.</summary>
    private static async Task<string?> AskAsync(string vip)
    {
        var result = await Processes.RunAsync("ip", ["netns", "exec", "lc", "curl", "-s", "-m", "3", $"http://{vip}/cgi-bin/who"], TimeSpan.FromSeconds(20));
        // busybox httpd listens on IPv6 too and shows IPv4 clients as [::ffff:a.b.c.d].
        return result.ExitCode == 0 ? result.Output.Trim().Replace("[::ffff:", string.Empty, StringComparison.Ordinal).TrimEnd(']') : null;
    }

    private static async Task<string> AnswerAsync(string vip, Func<string, bool> expected, string because)
    {
        string? answer = null;
        await Eventually.TrueAsync(async () => (answer = await AskAsync(vip)) is { } a && expected(a), () => $"{because}; last answer: {answer ?? "(no answer)"}", TimeSpan.FromSeconds(60));
        return answer!;
    }

    [Test]
    public async Task Traffic_to_the_VIP_reaches_a_pod_on_another_node_and_comes_back_source_NATed()
    {
        var (_, vip) = await ServeAsync("web", "Cluster", "pb1");

        var answer = await AnswerAsync(vip, a => a.StartsWith("pb1 ", StringComparison.Ordinal), "the client reaches pb1 on node-b through the VIP");

        answer.Should().Be($"pb1 {Director}", "the pod on node-b sees node-a's address: replies come back through node-a");
        (await Sh($"ip -o addr show dev ipvs-lb0")).Should().Contain($"{vip}/32");
        (await Sh("ipvsadm -Ln")).Should().MatchRegex($@"TCP\s+{vip.Replace(".", @"\.")}:80 rr");
        (await Sh("nft list table inet ipvs_operator")).Should().Contain($"vip_{vip.Replace('.', '_')}");
        (await File.ReadAllTextAsync("/proc/sys/net/ipv4/vs/conntrack")).Trim().Should().Be("1");
    }

    [Test]
    public async Task With_Local_traffic_policy_only_this_nodes_pod_serves_and_it_sees_the_client_address()
    {
        var (_, vip) = await ServeAsync("local", "Local", "pa1", "pb2");

        var answers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await AnswerAsync(vip, _ => true, "the client reaches the Local Service"));
        }

        answers.Should().AllBe($"pa1 {ClientAddress}", "only node-a's endpoint is used, and the client's own address is preserved");
    }

    [Test]
    public async Task Scaling_endpoints_up_and_down_is_followed_in_the_kernel()
    {
        var (ns, vip) = await ServeAsync("scaled", "Cluster", "pb1");
        await AnswerAsync(vip, a => a.StartsWith("pb1", StringComparison.Ordinal), "pb1 serves");

        await PublishAsync(ns, "scaled", "pb1", "pb2");
        await AnswerAsync(vip, a => a.StartsWith("pb2", StringComparison.Ordinal), "pb2 serves too once scaled up");
        await AnswerAsync(vip, a => a.StartsWith("pb1", StringComparison.Ordinal), "pb1 still serves (round robin)");

        await PublishAsync(ns, "scaled", "pb2");
        await Eventually.TrueAsync(async () => !(await Sh($"ipvsadm -Ln -t {vip}:80")).Contains("10.244.2.11", StringComparison.Ordinal),
            "pb1 is drained, then removed from the virtual service", TimeSpan.FromSeconds(60));
        for (var i = 0; i < 3; i++)
        {
            (await AskAsync(vip)).Should().StartWith("pb2");
        }
    }

    /// <summary>The weight IPVS gives a destination of the VIP's port 80 now; null when it is not there.</summary>
    private static async Task<int?> WeightAsync(string vip, string destination)
    {
        var line = (await Sh($"ipvsadm -Ln -t {vip}:80")).Split('\n').FirstOrDefault(l => l.Contains($"-> {destination}:", StringComparison.Ordinal));
        return line is null ? null : int.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A Service on pb1 and pb2 with an http check of /cgi-bin/who every 1 s (timeout 500 ms, down
    /// after 2 failures, up after 2 passes) and the settings given, once both backends serve.
    /// </summary>
    private async Task<(string Ns, string Vip)> ServeCheckedAsync(string name, params (string Annotation, string Value)[] more)
    {
        var annotations = new Dictionary<string, string>
        {
            [WellKnown.Annotations.HealthCheck] = "http",
            [WellKnown.Annotations.HealthCheckPath] = "/cgi-bin/who",
            [WellKnown.Annotations.HealthCheckInterval] = "1s",
            [WellKnown.Annotations.HealthCheckTimeout] = "500ms",
            [WellKnown.Annotations.HealthCheckUnhealthyThreshold] = "2",
            [WellKnown.Annotations.HealthCheckHealthyThreshold] = "2",
        };
        foreach (var (annotation, value) in more)
        {
            annotations[annotation] = value;
        }
        var (ns, vip) = await ServeAsync(name, "Cluster", annotations, "pb1", "pb2");
        await AnswerAsync(vip, a => a.StartsWith("pb1", StringComparison.Ordinal), "pb1 serves");
        await AnswerAsync(vip, a => a.StartsWith("pb2", StringComparison.Ordinal), "pb2 serves");
        return (ns, vip);
    }

    [Test]
    public async Task A_backend_that_stops_answering_while_its_pod_stays_Ready_gets_no_new_connections_until_it_answers_again()
    {
        var (ns, vip) = await ServeCheckedAsync("checked");

        var stopped = System.Diagnostics.Stopwatch.StartNew();
        StopPodServer("pb2");
        // The client keeps asking until the kernel stops sending new connections to pb2.
        var (asked, failed) = (0, 0);
        while (await WeightAsync(vip, "10.244.2.12") != 0)
        {
            stopped.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(60), "the health check takes pb2 out");
            asked++;
            failed += await AskAsync(vip) is null ? 1 : 0;
        }
        var avoidedAfter = stopped.Elapsed;
        for (var i = 0; i < 6; i++)
        {
            (await AskAsync(vip)).Should().StartWith("pb1", "every new connection goes to the backend that answers");
        }
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "checked", "EndpointUnhealthy")).Any(e => e.Message.StartsWith("endpoint 10.244.2.12:8080 failed", StringComparison.Ordinal)),
            "the Service is told");

        var restarted = System.Diagnostics.Stopwatch.StartNew();
        StartPodServer("pb2");
        await Eventually.TrueAsync(async () => await WeightAsync(vip, "10.244.2.12") == 1, "pb2 is back once it answers", TimeSpan.FromSeconds(60));
        var backAfter = restarted.Elapsed;
        await AnswerAsync(vip, a => a.StartsWith("pb2", StringComparison.Ordinal), "pb2 serves again");
        TestContext.Progress.WriteLine($"health check (http, 1s interval, 2 failures / 2 passes): new connections avoid a stopped backend after {avoidedAfter.TotalSeconds:F2} s " +
            $"({failed} of {asked} client requests failed meanwhile); back {backAfter.TotalSeconds:F2} s after it answers again");
    }

    /// <summary>
    /// A connection from the client to the VIP that sends nothing yet (busybox nc), to be written to
    /// later. Which backend IPVS gave it shows in the connection table.
    /// </summary>
    private static System.Diagnostics.Process OpenIdleConnection(string vip) =>
        System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip", ["netns", "exec", "lc", "busybox", "nc", vip, "80"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        })!;

    /// <summary>Established connections from the client to <paramref name="vip"/> that IPVS sends to <paramref name="destination"/>.</summary>
    private static async Task<int> ConnectionsToAsync(string vip, string destination) =>
        (await Sh("ipvsadm -Lnc")).Split('\n').Count(l => l.Contains("ESTABLISHED", StringComparison.Ordinal)
            && l.Contains($"{vip}:80", StringComparison.Ordinal) && l.Contains($"{destination}:8080", StringComparison.Ordinal));

    [Test]
    public async Task A_hung_backend_fails_its_http_check_and_with_reset_connections_its_clients_are_reset_at_once_not_left_hanging()
    {
        var (ns, vip) = await ServeCheckedAsync("hung", (WellKnown.Annotations.HealthCheckResetConnections, "true"));
        (await Sh("sysctl -n net.ipv4.vs.expire_nodest_conn net.ipv4.vs.expire_quiescent_template")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Should().Equal(["1", "1"], "the agent sets both, as kube-proxy does");

        // Two idle connections: round robin gives one to each backend.
        using var first = OpenIdleConnection(vip);
        using var second = OpenIdleConnection(vip);
        await Eventually.TrueAsync(async () => await ConnectionsToAsync(vip, "10.244.2.12") == 1 && await ConnectionsToAsync(vip, "10.244.2.11") == 1,
            "one idle client connection on each backend");

        // pb2 hangs: its server stops, the kernel still completes TCP handshakes, nothing answers.
        var hung = System.Diagnostics.Stopwatch.StartNew();
        await Sh($"kill -STOP {podServers["pb2"].Id}");
        try
        {
            await Eventually.TrueAsync(async () => await WeightAsync(vip, "10.244.2.12") is null, "the http check finds pb2 hung and cuts it", TimeSpan.FromSeconds(60));
            var cutAfter = hung.Elapsed;
            for (var i = 0; i < 4; i++)
            {
                (await AskAsync(vip)).Should().StartWith("pb1", "every new connection goes to the backend that answers");
            }

            // Both clients now ask. The one on pb1 is answered; the one on pb2 is reset at once (not left waiting on a hung server).
            var asked = System.Diagnostics.Stopwatch.StartNew();
            foreach (var client in new[] { first, second })
            {
                await client.StandardInput.WriteAsync("GET /cgi-bin/who HTTP/1.0\r\n\r\n");
                await client.StandardInput.FlushAsync();
            }
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await Task.WhenAll(first.WaitForExitAsync(deadline.Token), second.WaitForExitAsync(deadline.Token));
            var endedAfter = asked.Elapsed;
            var answers = new[] { await first.StandardOutput.ReadToEndAsync(), await second.StandardOutput.ReadToEndAsync() };
            answers.Should().ContainSingle(a => a.Contains("pb1 ", StringComparison.Ordinal), "the connection on pb1 is served");
            answers.Should().ContainSingle(a => a.Length == 0, "the connection on pb2 is reset, with no answer");
            (await ConnectionsToAsync(vip, "10.244.2.12")).Should().Be(0);
            TestContext.Progress.WriteLine($"hung backend (http check, 1s interval, 2 failures, reset-connections): cut {cutAfter.TotalSeconds:F2} s after it hung; " +
                $"its client connection ended {endedAfter.TotalMilliseconds:F0} ms after the client next sent");
            await Eventually.TrueAsync(async () => (await EventsAsync(ns, "hung", "EndpointUnhealthy")).Any(e => e.Message.Contains("10.244.2.12:8080", StringComparison.Ordinal)),
                "the Service is told");
        }
        finally
        {
            await Sh($"kill -CONT {podServers["pb2"].Id}");
            foreach (var client in new[] { first, second }.Where(c => !c.HasExited))
            {
                client.Kill();
            }
        }
        await Eventually.TrueAsync(async () => await WeightAsync(vip, "10.244.2.12") == 1, "pb2 is back once it answers again", TimeSpan.FromSeconds(60));
        await AnswerAsync(vip, a => a.StartsWith("pb2", StringComparison.Ordinal), "pb2 serves again");
    }

    [Test]
    public async Task Deleting_the_Service_removes_its_VIP_and_virtual_service()
    {
        var (ns, vip) = await ServeAsync("gone", "Cluster", "pb1");
        await AnswerAsync(vip, a => a.StartsWith("pb1", StringComparison.Ordinal), "served");

        await Client.CoreV1.DeleteNamespacedServiceAsync("gone", ns);

        await Eventually.TrueAsync(async () => !(await Sh("ip -o addr show dev ipvs-lb0")).Contains($"{vip}/32", StringComparison.Ordinal)
            && !(await Sh("ipvsadm -Ln")).Contains($"{vip}:80", StringComparison.Ordinal), "the VIP and its virtual service are gone", TimeSpan.FromSeconds(60));
        (await AskAsync(vip)).Should().BeNull("nothing answers on the VIP any more");
    }

    [Test]
    public async Task A_rule_deleted_by_hand_is_back_after_the_re_sync_and_a_foreign_one_is_untouched()
    {
        var (_, vip) = await ServeAsync("repaired", "Cluster", "pb1");
        await AnswerAsync(vip, a => a.StartsWith("pb1", StringComparison.Ordinal), "served");
        await Sh("ipvsadm -A -t 10.96.77.77:443 -s wlc");
        await Sh("ipvsadm -a -t 10.96.77.77:443 -r 10.244.9.9:8443 -m");

        await Sh($"ipvsadm -D -t {vip}:80");

        await AnswerAsync(vip, a => a.StartsWith("pb1", StringComparison.Ordinal), "the re-sync puts the deleted virtual service back");
        var syncs = host.Agent!.LastReport;
        await Eventually.TrueAsync(() => host.Agent.LastReport is { Trigger: SyncTrigger.Periodic } r && !ReferenceEquals(r, syncs), "one more periodic re-sync");
        var table = await Sh("ipvsadm -Ln");
        table.Should().MatchRegex(@"TCP\s+10\.96\.77\.77:443 wlc").And.Contain("10.244.9.9:8443", "a foreign virtual service survives every sync");
        await Sh("ipvsadm -D -t 10.96.77.77:443");
    }

    [Test]
    public async Task Services_of_every_shape_a_human_may_make_are_left_alone_and_never_stop_a_sync()
    {
        // keepalived's firewall-mark service, IPv6, SCTP, persistence with a netmask, one-packet scheduling.
        string[] foreign =
        [
            "ipvsadm -A -f 1 -s wlc",
            "ipvsadm -A -f 2 -6 -s rr",
            "ipvsadm -A -t [2001:db8:77::1]:80 -s rr",
            "ipvsadm -A --sctp-service 10.96.78.1:9000 -s rr",
            "ipvsadm -A -t 10.96.78.2:80 -s rr -p 60 -M 255.255.255.0",
            "ipvsadm -A -u 10.96.78.3:53 -s rr -o",
        ];
        foreach (var command in foreign)
        {
            await Sh(command);
        }
        try
        {
            var before = await Sh("ipvsadm -Ln");
            var (_, vip) = await ServeAsync("among-strangers", "Cluster", "pb1");

            await AnswerAsync(vip, a => a.StartsWith("pb1", StringComparison.Ordinal), "a Service is served beside them");
            var report = host.Agent!.LastReport;
            await Eventually.TrueAsync(() => host.Agent.LastReport is { Trigger: SyncTrigger.Periodic } r && !ReferenceEquals(r, report), "a full re-sync reads them all back");
            host.Agent.FailedSyncsInARow.Should().Be(0);
            host.Agent.IsReady.Should().BeTrue();
            var after = await Sh("ipvsadm -Ln");
            foreach (var line in before.Split('\n').Where(l => l.StartsWith("FWM", StringComparison.Ordinal) || l.Contains("2001:db8:77::1", StringComparison.Ordinal) || l.Contains("10.96.78.", StringComparison.Ordinal)))
            {
                after.Should().Contain(line.Trim(), "a foreign service stays as it was");
            }
        }
        finally
        {
            foreach (var delete in (string[])["-D -f 1", "-D -f 2 -6", "-D -t [2001:db8:77::1]:80", "-D --sctp-service 10.96.78.1:9000", "-D -t 10.96.78.2:80", "-D -u 10.96.78.3:53"])
            {
                await RunAsync("ipvsadm", delete.Split(' '));
            }
        }
    }

    /// <summary>A plain HTTP GET from the client namespace: true when anything answered.</summary>
    private static async Task<bool> ReachesAsync(string address, int port) =>
        (await Processes.RunAsync("ip", ["netns", "exec", "lc", "curl", "-s", "-o", "/dev/null", "-m", "3", $"http://{address}:{port}/"], TimeSpan.FromSeconds(20))).ExitCode == 0;

    [Test]
    public async Task A_VIP_answers_only_on_its_Services_ports_not_on_the_nodes_own()
    {
        var (_, vip) = await ServeAsync("filtered", "Cluster", "pb1");
        await AnswerAsync(vip, a => a.StartsWith("pb1", StringComparison.Ordinal), "the Service's port is served through the VIP");
        // An ssh stand-in listening on every address of the node.
        Directory.CreateDirectory(Path.Combine(Www, "node-ssh"));
        servers.Add(System.Diagnostics.Process.Start("busybox", ["httpd", "-f", "-p", "2222", "-h", Path.Combine(Www, "node-ssh")]));
        await Eventually.TrueAsync(() => ReachesAsync(Director, 2222), "the ssh stand-in answers on the node's own address");

        (await ReachesAsync(vip, 2222)).Should().BeFalse("the VIP does not expose the node's other ports");
        (await ReachesAsync(Director, host.MetricsPort)).Should().BeTrue("the agent's metrics answer on the node's address");
        (await ReachesAsync(vip, host.MetricsPort)).Should().BeFalse("but not through the VIP");
        (await Sh("nft list table inet ipvs_operator")).Should().Contain("chain filter_vip_ports").And.Contain($"{vip} . tcp . 80");
    }
}
