using System.Globalization;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// FRR's zebra, bgpd and bfdd (bgpd's BFD goes through zebra to bfdd) in one network namespace,
/// with sockets, configuration and path space of their own under a temporary directory: the
/// machine's FRR, if any, is never touched. Started empty, as a restarted FRR comes back before it
/// is given a file.
/// </summary>
public sealed class FrrInstance
{
    private static readonly string[] Daemons = ["zebra", "bgpd", "bfdd"];
    private static readonly string[] DiagnosticCommands = ["show running-config", "show bgp ipv4 unicast", "show bgp ipv6 unicast", "show bgp summary", "show bgp neighbors", "show bfd peers"];

    private FrrInstance(string netns, string pathspace, string directory) => (Namespace, PathSpace, Directory) = (netns, pathspace, directory);

    public string Namespace { get; }
    public string PathSpace { get; }
    public string Directory { get; }
    public string Sockets => Path.Combine(Directory, "run");
    public FrrPaths Paths => new(Sockets, Path.Combine(Directory, "etc", "frr.conf"), "/usr/bin", "/usr/lib/frr/frr-reload.py", NamespaceNetstat());

    /// <summary>The TCP counters of the namespace FRR runs in, read through zebra's process (the test runs in another namespace).</summary>
    private string NamespaceNetstat()
    {
        var pidFile = Path.Combine(Sockets, "zebra.pid");
        return File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid)
            ? $"/proc/{pid}/net/netstat"
            : "/proc/net/netstat";
    }

    public static async Task<FrrInstance> StartAsync(string netns, string pathspace, string directory)
    {
        var frr = new FrrInstance(netns, pathspace, directory);
        System.IO.Directory.CreateDirectory(frr.Sockets);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "etc"));
        System.IO.Directory.CreateDirectory($"/var/run/frr/{pathspace}");
        await File.WriteAllTextAsync(Path.Combine(directory, "etc", "frr.conf"), "frr defaults traditional\n");
        await File.WriteAllTextAsync(Path.Combine(directory, "etc", "vtysh.conf"), string.Empty);
        await Processes.Sh($"chown -R frr:frr {directory} /var/run/frr/{pathspace}");
        foreach (var daemon in Daemons)
        {
            await frr.StartDaemonAsync(daemon);
        }
        return frr;
    }

    public async Task StartDaemonAsync(string daemon)
    {
        var result = await Processes.RunAsync("ip", ["netns", "exec", Namespace, $"/usr/lib/frr/{daemon}", "-d", "-f", Path.Combine(Directory, "etc", "vtysh.conf"),
            "-i", Path.Combine(Sockets, $"{daemon}.pid"), "--vty_socket", Sockets, "-u", "frr", "-g", "frr", "-N", PathSpace], TimeSpan.FromSeconds(60));
        result.ExitCode.Should().Be(0, $"{daemon} starts: {result.Error}");
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(Sockets, $"{daemon}.vty")), $"{daemon} listens on its vty socket", TimeSpan.FromSeconds(60));
    }

    /// <summary>Kills one daemon, as a crash would.</summary>
    public async Task KillDaemonAsync(string daemon)
    {
        if (await PidAsync(daemon) is not { } pid)
        {
            return;
        }
        await Processes.RunAsync("kill", ["-9", pid.ToString(CultureInfo.InvariantCulture)]);
        await Eventually.TrueAsync(() => !System.IO.Directory.Exists($"/proc/{pid}"), $"{daemon} is gone");
        File.Delete(Path.Combine(Sockets, $"{daemon}.vty"));
    }

    public async Task KillAsync()
    {
        foreach (var daemon in Daemons)
        {
            await KillDaemonAsync(daemon);
        }
    }

    /// <summary>
    /// FRR's running configuration, BGP tables and BFD peers, for a failure message. Each command has
    /// 20 s: a starved FRR (a loaded machine, emulation) is itself a finding to show, not a reason
    /// for the teardown to fail and hide the test's own failure.
    /// </summary>
    public string Diagnose() => string.Join("\n", DiagnosticCommands.Select(command =>
    {
        try
        {
            return $"# {command}\n" + Processes.RunAsync("vtysh", ["--vty_socket", Sockets, "-c", command], TimeSpan.FromSeconds(20)).GetAwaiter().GetResult().Output;
        }
        catch (TimeoutException)
        {
            return $"# {command}\n(vtysh did not answer within 20 s: FRR is starved or stuck)";
        }
    }));

    private async Task<int?> PidAsync(string daemon)
    {
        var file = Path.Combine(Sockets, $"{daemon}.pid");
        return File.Exists(file) && int.TryParse((await File.ReadAllTextAsync(file)).Trim(), CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }
}
