using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// A node and a router, each a network namespace of this host on a veth pair (10.78.0.1/24 and
/// fd78::1/64 on the node, .2 and ::2 on the router). The node runs FRR's zebra, bgpd and bfdd with
/// sockets and configuration of their own (a test never touches the machine's FRR); the router runs
/// BIRD 2, a different BGP implementation, with the configuration the test gives. Needs root, and
/// Debian's frr, frr-pythontools and bird2 (CI installs them).
/// </summary>
internal sealed class FrrLab : IAsyncDisposable
{
    public const string NodeAddress = "10.78.0.1";
    public const string RouterAddress = "10.78.0.2";
    public const string NodeAddress6 = "fd78::1";
    public const string RouterAddress6 = "fd78::2";

    private readonly string name;
    private readonly DirectoryInfo directory;

    private FrrLab(string name, DirectoryInfo directory) => (this.name, this.directory) = (name, directory);

    public string Node => $"{name}-n";
    public string Router => $"{name}-r";
    public FrrInstance Frr { get; private set; } = null!;
    public string WorkDirectory => directory.FullName;
    public FrrSpeaker Speaker { get; private set; } = null!;

    /// <summary>Why the lab cannot run here (null: it can).</summary>
    public static string? Missing() =>
        Environment.UserName != "root" ? "needs root (network namespaces)"
        : !File.Exists("/usr/lib/frr/bgpd") || !File.Exists("/usr/bin/vtysh") ? "needs FRR (apt-get install frr)"
        : !File.Exists("/usr/lib/frr/frr-reload.py") ? "needs frr-reload.py (apt-get install frr-pythontools)"
        : !File.Exists("/usr/sbin/bird") ? "needs BIRD 2 (apt-get install bird2)"
        : null;

    /// <param name="moreNodeAddresses">IPv4 addresses the node has besides 10.78.0.1 (/24, on the same link).</param>
    /// <param name="moreRouterAddresses">The same for the router: in place before BIRD starts, so that its BFD can use them.</param>
    /// <param name="startFrr">False: the test runs FRR on the node itself (the sidecar's script, <see cref="FrrSidecar"/>); no <see cref="Frr"/> nor <see cref="Speaker"/>.</param>
    public static async Task<FrrLab> StartAsync(string name, string birdConfiguration, IReadOnlyList<string>? moreNodeAddresses = null, IReadOnlyList<string>? moreRouterAddresses = null, bool startFrr = true)
    {
        var lab = new FrrLab(name, Directory.CreateTempSubdirectory("frr-lab-"));
        try
        {
            await lab.WireAsync();
            foreach (var address in moreNodeAddresses ?? [])
            {
                await Processes.Sh($"ip -n {lab.Node} addr add {address}/24 dev n0");
            }
            foreach (var address in moreRouterAddresses ?? [])
            {
                await Processes.Sh($"ip -n {lab.Router} addr add {address}/24 dev r0");
            }
            // The daemons drop to the frr user, which must reach their directory inside this 0700 one.
            await Processes.Sh($"chmod 755 {lab.directory.FullName}");
            if (startFrr)
            {
                lab.Frr = await FrrInstance.StartAsync(lab.Node, name, Path.Combine(lab.directory.FullName, "frr"));
                lab.Speaker = new FrrSpeaker(lab.Frr.Paths, NullLogger.Instance);
            }
            await lab.StartBirdAsync(birdConfiguration);
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    private async Task WireAsync()
    {
        await Processes.RunAsync("ip", ["netns", "del", Node]);
        await Processes.RunAsync("ip", ["netns", "del", Router]);
        await Processes.Sh($"ip netns add {Node}");
        await Processes.Sh($"ip netns add {Router}");
        await Processes.Sh($"ip -n {Node} link add n0 type veth peer name r0 netns {Router}");
        foreach (var (ns, link, v4, v6) in new[] { (Node, "n0", NodeAddress, NodeAddress6), (Router, "r0", RouterAddress, RouterAddress6) })
        {
            await Processes.Sh($"ip -n {ns} link set lo up");
            await Processes.Sh($"ip -n {ns} addr add {v4}/24 dev {link}");
            await Processes.Sh($"ip -n {ns} addr add {v6}/64 dev {link} nodad");
            await Processes.Sh($"ip -n {ns} link set {link} up");
        }
    }

    private async Task StartBirdAsync(string configuration)
    {
        var file = Path.Combine(directory.FullName, "bird.conf");
        await File.WriteAllTextAsync(file, configuration);
        var result = await Processes.RunAsync("ip", ["netns", "exec", Router, "bird", "-c", file, "-s", Path.Combine(directory.FullName, "bird.ctl"), "-P", Path.Combine(directory.FullName, "bird.pid")]);
        result.ExitCode.Should().Be(0, $"BIRD starts: {result.Error}{result.Output}");
    }

    /// <summary>A birdc command on the router.</summary>
    public async Task<string> BirdAsync(params string[] command) =>
        (await Processes.RunAsync("birdc", ["-s", Path.Combine(directory.FullName, "bird.ctl"), .. command])).Output;

    /// <summary>The routes BIRD installed in the router's kernel (proto bird), both families, one line each.</summary>
    public async Task<string> RouterRoutesAsync() =>
        (await Processes.RunAsync("ip", ["-n", Router, "route", "show", "proto", "bird"])).Output
        + (await Processes.RunAsync("ip", ["-n", Router, "-6", "route", "show", "proto", "bird"])).Output;

    /// <summary>FRR's running configuration, BGP tables and BFD peers, for a failure message.</summary>
    public string Diagnose() => Frr?.Diagnose() ?? string.Empty;

    public async ValueTask DisposeAsync()
    {
        if (Frr is not null)
        {
            await Frr.KillAsync();
        }
        var birdPid = Path.Combine(directory.FullName, "bird.pid");
        if (File.Exists(birdPid))
        {
            await Processes.RunAsync("kill", ["-9", (await File.ReadAllTextAsync(birdPid)).Trim()]);
        }
        await Processes.RunAsync("ip", ["netns", "del", Node]);
        await Processes.RunAsync("ip", ["netns", "del", Router]);
        try
        {
            directory.Delete(recursive: true);
            Directory.Delete($"/var/run/frr/{name}", recursive: true);
        }
        catch (IOException)
        {
            // A daemon still writing as it dies: the temp directory is left for the OS.
        }
    }
}
