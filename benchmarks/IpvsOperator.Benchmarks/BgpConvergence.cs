using System.Diagnostics;
using System.Globalization;
using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Node;
using IpvsOperator.Node.Bgp;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Generation;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// BGP through FRR, against BIRD 2 as the router, on this host: the node is a network namespace
/// running FRR's zebra, bgpd and bfdd, the router another running BIRD with its routes installed in
/// its kernel. Measures what frr-reload costs at 2,000 VIPs (from nothing, one VIP more, nothing to
/// change), and end to end with the node agent on LocalCluster: from start to the router holding
/// 2,000 routes, and from a new Service (its IPAllocation and EndpointSlice written) to its route on
/// the router, and back. Needs root, frr, frr-pythontools and bird2.
/// </summary>
internal static class BgpConvergence
{
    private const string Node = "bgpbench-n";
    private const string Router = "bgpbench-r";
    private const int Vips = 2_000;
    private static readonly string[] Daemons = ["zebra", "bgpd", "bfdd"];

    public static async Task RunAsync()
    {
        var work = Directory.CreateTempSubdirectory("bgp-bench-");
        var run = Path.Combine(work.FullName, "run");
        try
        {
            await SetUpAsync(work.FullName, run);
            var speaker = new FrrSpeaker(new FrrPaths(run, Path.Combine(work.FullName, "etc", "frr.conf")), NullLogger.Instance);
            Console.WriteLine("| FRR (frr-reload.py) at 2,000 VIPs, BIRD 2 as the router | time | notes |");
            Console.WriteLine("|---|---:|---|");
            await SpeakerAsync(speaker);
            // Withdrawn with the session kept: a session that ends leaves its routes at BIRD as stale for
            // the graceful restart time (120 s), as a router that helps graceful restart does.
            speaker.Apply(FrrConfiguration.Render(IPAddressValue.Parse("10.79.0.1"), [Peer], []));
            await Eventually(async () => await RoutesAsync() == 0, TimeSpan.FromMinutes(2));
            await AgentAsync(speaker);
        }
        finally
        {
            await TearDownAsync(work.FullName, run);
            work.Delete(recursive: true);
        }
    }

    private static BgpPeering Peer => new(IPAddressValue.Parse("10.79.0.2"), 64500, 64512, KeepaliveSeconds: 3, HoldSeconds: 9);

    private static IPAddressValue Vip(int i) => new(IPFamily.IPv4, (uint)(0xC6120000 + i)); // 198.18.0.0/15

    private static string Render(int count, int extra = -1) => FrrConfiguration.Render(IPAddressValue.Parse("10.79.0.1"), [Peer],
        [.. Enumerable.Range(0, count).Select(i => new BgpAnnouncement(Vip(i), ["64500:100"], [], null)), .. extra >= 0 ? new[] { new BgpAnnouncement(Vip(extra)) } : []]);

    private static async Task SpeakerAsync(FrrSpeaker speaker)
    {
        var clock = Stopwatch.StartNew();
        speaker.Apply(Render(Vips));
        var applied = clock.Elapsed;
        await Eventually(async () => await RoutesAsync() >= Vips, TimeSpan.FromMinutes(5));
        Console.WriteLine($"| apply 2,000 VIPs to an FRR holding none | {applied.TotalSeconds:F2} s | the router holds all 2,000 routes {clock.Elapsed.TotalSeconds:F2} s after the apply began |");

        var added = new List<double>();
        var routed = new List<double>();
        var withdrawn = new List<double>();
        var unchanged = new List<double>();
        var sessions = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            var extra = Vips + round;
            clock.Restart();
            speaker.Apply(Render(Vips, extra));
            added.Add(clock.Elapsed.TotalSeconds);
            await Eventually(async () => await HasRouteAsync(Vip(extra)), TimeSpan.FromMinutes(1));
            routed.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            speaker.Apply(Render(Vips, extra));
            unchanged.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            speaker.ReadSessions();
            sessions.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            speaker.Apply(Render(Vips));
            await Eventually(async () => !await HasRouteAsync(Vip(extra)), TimeSpan.FromMinutes(1));
            withdrawn.Add(clock.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"| apply one VIP more (5 times) | {Range(added)} | its route on the router after {Range(routed)} |");
        Console.WriteLine($"| apply with nothing to change (a verify) | {Range(unchanged)} | one vtysh show running-config, no reload |");
        Console.WriteLine($"| read the sessions (show bgp neighbors json) | {Range(sessions)} | every --bgp-session-poll (5 s) |");
        Console.WriteLine($"| remove one VIP, until the router drops its route | {Range(withdrawn)} | |");
    }

    private static async Task AgentAsync(FrrSpeaker speaker)
    {
        await using var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { HistoryLimit = 50_000 });
        using var client = server.CreateClient();
        foreach (var crd in new ManifestGenerator(OperatorAssemblies.All).CustomResourceDefinitions())
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        }
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = WellKnown.NodeNamespace } });
        await client.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = "node-a" },
            Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = "10.79.0.1" }] },
        });
        await new EntityClient<V1Alpha1BGPPeer>(client).CreateAsync(new V1Alpha1BGPPeer
        {
            Metadata = new V1ObjectMeta { Name = "router" },
            Spec = new BGPPeerSpec { PeerAddress = "10.79.0.2", PeerASN = 64500, LocalASN = 64512, HoldTime = "9s", KeepaliveTime = "3s" },
        });
        await ParallelWriters.RunAsync(Vips, async i => await NodeConvergence.CreateServiceAsync(client, i, 2));

        var dataplane = NodeDataplaneFactory.InMemory() with { Bgp = speaker };
        var agent = new NodeAgent(ApiConnection.Of(client), dataplane, new NodeAgentOptions { NodeName = "node-a", Bgp = new BgpOptions() }, NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var running = Task.Run(() => agent.RunAsync(stop.Token));
        await Eventually(async () => await RoutesAsync() >= Vips, TimeSpan.FromMinutes(5));
        Console.WriteLine($"| node agent start, 2,000 Services, to 2,000 routes on the router | {clock.Elapsed.TotalSeconds:F2} s | caches listed, first sync (in-memory IPVS), plan, frr-reload, BGP UPDATEs |");

        var routed = new List<double>();
        var withdrawn = new List<double>();
        for (var round = 0; round < 5; round++)
        {
            var i = Vips + round;
            clock.Restart();
            await NodeConvergence.CreateServiceAsync(client, i, 2);
            await Eventually(async () => await HasRouteAsync(Vip(i)), TimeSpan.FromMinutes(1));
            routed.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            await client.CoreV1.DeleteNamespacedServiceAsync($"svc-{i}", "default");
            await Eventually(async () => !await HasRouteAsync(Vip(i)), TimeSpan.FromMinutes(1));
            withdrawn.Add(clock.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"| a new Service (IPAllocation, EndpointSlice) to its route on the router (5 times) | {Range(routed)} | beside 2,000 others; the controller's allocation is not included (see controller) |");
        Console.WriteLine($"| its Service deleted to the route gone from the router | {Range(withdrawn)} | |");

        clock.Restart();
        await stop.CancelAsync();
        await running;
        await Eventually(async () => await RoutesAsync() == 0, TimeSpan.FromMinutes(2));
        Console.WriteLine($"| agent stopped (withdraws first) to no route on the router | {clock.Elapsed.TotalSeconds:F2} s | the sessions stay up |");
    }

    private static string Range(List<double> seconds) =>
        $"{seconds.Min().ToString("F2", CultureInfo.InvariantCulture)}-{seconds.Max().ToString("F2", CultureInfo.InvariantCulture)} s";

    private static async Task<int> RoutesAsync() =>
        (await Run("ip", "-n", Router, "route", "show", "proto", "bird")).Split('\n').Count(l => l.StartsWith("198.18.", StringComparison.Ordinal));

    private static async Task<bool> HasRouteAsync(IPAddressValue vip) =>
        (await Run("ip", "-n", Router, "route", "show", "proto", "bird", vip.ToString())).Trim().Length > 0;

    private static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the router did not get there in time");
            }
            await Task.Delay(10);
        }
    }

    private static async Task SetUpAsync(string work, string run)
    {
        await TearDownAsync(work, run);
        foreach (var command in new[]
        {
            $"ip netns add {Node}", $"ip netns add {Router}", $"ip -n {Node} link add n0 type veth peer name r0 netns {Router}",
            $"ip -n {Node} addr add 10.79.0.1/24 dev n0", $"ip -n {Router} addr add 10.79.0.2/24 dev r0",
            $"ip -n {Node} link set n0 up", $"ip -n {Router} link set r0 up", $"ip -n {Node} link set lo up", $"ip -n {Router} link set lo up",
        })
        {
            await Run(command.Split(' '));
        }
        Directory.CreateDirectory(run);
        Directory.CreateDirectory(Path.Combine(work, "etc"));
        Directory.CreateDirectory("/var/run/frr/bgpbench");
        await File.WriteAllTextAsync(Path.Combine(work, "etc", "frr.conf"), "frr defaults traditional\n");
        await File.WriteAllTextAsync(Path.Combine(work, "etc", "vtysh.conf"), string.Empty);
        await Run("chown", "-R", "frr:frr", work, "/var/run/frr/bgpbench");
        foreach (var daemon in Daemons)
        {
            await Run("ip", "netns", "exec", Node, $"/usr/lib/frr/{daemon}", "-d", "-f", Path.Combine(work, "etc", "vtysh.conf"), "-i", Path.Combine(run, $"{daemon}.pid"),
                "--vty_socket", run, "-u", "frr", "-g", "frr", "-N", "bgpbench");
        }
        await File.WriteAllTextAsync(Path.Combine(work, "bird.conf"), """
            router id 10.79.0.2;
            protocol device { }
            protocol kernel { ipv4 { export all; }; merge paths on; }
            protocol bgp node { local 10.79.0.2 as 64500; neighbor 10.79.0.1 as 64512; hold time 9; keepalive time 3;
              connect retry time 1; error wait time 1, 2; ipv4 { import all; export none; }; }
            """);
        await Run("ip", "netns", "exec", Router, "bird", "-c", Path.Combine(work, "bird.conf"), "-s", Path.Combine(work, "bird.ctl"), "-P", Path.Combine(work, "bird.pid"));
    }

    private static async Task TearDownAsync(string work, string run)
    {
        foreach (var pid in Daemons.Select(d => Path.Combine(run, $"{d}.pid")).Append(Path.Combine(work, "bird.pid")).Where(File.Exists))
        {
            await Run("kill", "-9", (await File.ReadAllTextAsync(pid)).Trim());
        }
        await Run("ip", "netns", "del", Node);
        await Run("ip", "netns", "del", Router);
    }

    /// <summary>Runs a command; what it prints, whatever its exit code (teardown runs before anything exists).</summary>
    private static async Task<string> Run(params string[] command)
    {
        var start = new ProcessStartInfo(command[0], command[1..]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }
}
