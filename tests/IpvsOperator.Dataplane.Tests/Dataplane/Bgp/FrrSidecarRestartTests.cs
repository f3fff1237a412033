using System.Diagnostics;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// The FRR sidecar of config/bgp as the kubelet runs it, with the container's exact user, groups
/// and capabilities (<see cref="ContainerIdentity"/>), and the agent's tools with the agent
/// container's: the agent configures FRR through the shared volumes, then a crashed bgpd ends the
/// container and the restarted container announces the agent's last configuration to the router
/// again by itself, before the agent's next check.
/// </summary>
[NonParallelizable]
public class FrrSidecarRestartTests
{
    private const string Bird = """
        router id 10.78.0.2;
        protocol device { }
        protocol kernel { ipv4 { export all; }; merge paths on; }
        protocol bgp n4 {
          local 10.78.0.2 as 64500; neighbor 10.78.0.1 as 64512;
          hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 2;
          ipv4 { import all; export none; };
        }
        """;

    private static readonly IPAddressValue RouterId = IPAddressValue.Parse(FrrLab.NodeAddress);
    private static readonly BgpPeering Router = new(IPAddressValue.Parse(FrrLab.RouterAddress), 64500, 64512, KeepaliveSeconds: 1, HoldSeconds: 3, Password: "s3cret-only-here");

    private FrrLab lab = null!;
    private FrrSidecar sidecar = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        if (FrrLab.Missing() is { } missing)
        {
            Assert.Ignore($"{missing}; CI installs what it needs and fails on a skipped test");
        }
        if (!File.Exists("/usr/bin/setpriv"))
        {
            Assert.Ignore("needs setpriv (util-linux); CI installs what it needs and fails on a skipped test");
        }
        lab = await FrrLab.StartAsync("ipvsside", Bird.Replace("neighbor 10.78.0.1 as 64512;", "neighbor 10.78.0.1 as 64512; password \"s3cret-only-here\";", StringComparison.Ordinal), startFrr: false);
        sidecar = await FrrSidecar.CreateAsync(lab.Node, "ipvsside", Path.Combine(lab.WorkDirectory, "pod"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (sidecar is not null)
        {
            await sidecar.DisposeAsync();
        }
        if (lab is not null)
        {
            await lab.DisposeAsync();
        }
    }

    [Test]
    public async Task A_restarted_sidecar_announces_the_agents_last_configuration_again_without_the_agent()
    {
        await sidecar.StartAsync();
        var agent = new FrrSpeaker(sidecar.AgentPaths, NullLogger.Instance);
        agent.Apply(FrrConfiguration.Render(RouterId, [Router], [new BgpAnnouncement(IPAddressValue.Parse("198.51.100.61"))])).Should().BeTrue();
        await OnTheRouterAsync("198.51.100.61", "the agent's first configuration, applied with its own capabilities");

        // bgpd crashes: the script ends the container, and the router drops the node's routes.
        (await sidecar.KillDaemonAsync("bgpd")).Should().NotBe(0, "a daemon that ends ends the container, which the kubelet restarts");
        await GoneFromTheRouterAsync("198.51.100.61");
        var restart = Stopwatch.StartNew();
        await sidecar.StartAsync();
        await OnTheRouterAsync("198.51.100.61", "loaded at the container's start from the file the agent wrote (the agent applies nothing meanwhile)");
        TestContext.Progress.WriteLine($"after bgpd crashed, the restarted container announced again in {restart.Elapsed.TotalSeconds:F1} s");

        // The agent changes the configuration, then the kubelet restarts the container (SIGTERM).
        agent.Apply(FrrConfiguration.Render(RouterId, [Router], [new BgpAnnouncement(IPAddressValue.Parse("198.51.100.62"))])).Should().BeTrue("the agent reaches the restarted daemons");
        await OnTheRouterAsync("198.51.100.62", "the agent's change");
        await sidecar.StopAsync();
        await GoneFromTheRouterAsync("198.51.100.62");
        restart.Restart();
        await sidecar.StartAsync();
        await OnTheRouterAsync("198.51.100.62", "the last configuration, loaded at start");
        TestContext.Progress.WriteLine($"after a stop, the restarted container announced again in {restart.Elapsed.TotalSeconds:F1} s");
        (await lab.RouterRoutesAsync()).Should().NotContain("198.51.100.61", "the configuration the agent replaced stays replaced");
        agent.Apply(FrrConfiguration.Render(RouterId, [Router], [new BgpAnnouncement(IPAddressValue.Parse("198.51.100.62"))]))
            .Should().BeFalse("FRR already runs exactly what the agent applied last");
        sidecar.Output.Should().NotContain("could not load").And.NotContain("s3cret-only-here", "the container's log holds no password");
    }

    private async Task OnTheRouterAsync(string vip, string what)
    {
        var routes = string.Empty;
        await Eventually.TrueAsync(async () => (routes = await lab.RouterRoutesAsync()).Contains($"{vip} via {FrrLab.NodeAddress}", StringComparison.Ordinal),
            () => $"{what}: the router has {vip}; it has {routes}\n{lab.BirdAsync("show", "protocols", "all").GetAwaiter().GetResult()}\n{sidecar.Output}", TimeSpan.FromSeconds(60));
    }

    private async Task GoneFromTheRouterAsync(string vip)
    {
        var routes = string.Empty;
        await Eventually.TrueAsync(async () => !(routes = await lab.RouterRoutesAsync()).Contains(vip, StringComparison.Ordinal),
            () => $"the router drops {vip} with the session; it has {routes}", TimeSpan.FromSeconds(30));
    }
}
