using System.Diagnostics;
using System.Globalization;
using System.Text;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// The FRR container of config/bgp on this host: <c>src/IpvsOperator/frr-sidecar.sh</c> run in a
/// network namespace as the container runs it (<see cref="ContainerIdentity.FrrSidecar"/>: root, the
/// image's groups, exactly the DaemonSet's capabilities, no privilege escalation), on directories
/// that stand for the pod's emptyDir volumes (mode 0777, as the kubelet makes them). A daemon that
/// ends ends the script, as it ends the container; <see cref="StartAsync"/> again is the kubelet's
/// restart. <see cref="AgentPaths"/> are the node agent's view of the same volumes, its vtysh and
/// frr-reload.py confined to <see cref="ContainerIdentity.NodeAgent"/>.
/// </summary>
public sealed class FrrSidecar : IAsyncDisposable
{
    private static readonly string Script = Path.Combine(RepositoryRoot.Path, "src", "IpvsOperator", "frr-sidecar.sh");
    private readonly StringBuilder output = new();
    private Process? process;

    private FrrSidecar(string netns, string pathspace, string directory) => (Namespace, PathSpace, Directory) = (netns, pathspace, directory);

    public string Namespace { get; }
    public string PathSpace { get; }
    public string Directory { get; }
    private string Sockets => Path.Combine(Directory, "run");
    private string ConfigurationDirectory => Path.Combine(Directory, "etc");
    private string PathSpaceDirectory => $"/var/run/frr/{PathSpace}";
    private string AgentBin => Path.Combine(Directory, "agent-bin");

    /// <summary>The agent's paths to the shared volumes, with its tools run under the agent container's identity.</summary>
    public FrrPaths AgentPaths => new(Sockets, Path.Combine(ConfigurationDirectory, "frr.conf"), AgentBin, Path.Combine(AgentBin, "frr-reload.py"));

    /// <summary>What the container printed so far, for a failure message.</summary>
    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public static async Task<FrrSidecar> CreateAsync(string netns, string pathspace, string directory)
    {
        var sidecar = new FrrSidecar(netns, pathspace, directory);
        foreach (var volume in new[] { sidecar.ConfigurationDirectory, sidecar.Sockets, sidecar.PathSpaceDirectory })
        {
            System.IO.Directory.CreateDirectory(volume);
            File.SetUnixFileMode(volume, (UnixFileMode)0x1FF);
        }
        System.IO.Directory.CreateDirectory(sidecar.AgentBin);
        // frr-reload.py runs vtysh from --bindir: the wrapper confines only the outermost call
        // (a confined process may not drop capabilities again, and needs not).
        await sidecar.WriteAgentToolAsync("vtysh", "/usr/bin/vtysh");
        await sidecar.WriteAgentToolAsync("frr-reload.py", "/usr/lib/frr/frr-reload.py");
        return sidecar;
    }

    private async Task WriteAgentToolAsync(string name, string program)
    {
        var file = Path.Combine(AgentBin, name);
        var confined = string.Join(' ', ContainerIdentity.NodeAgent.Confine(program, "\"$@\""));
        await File.WriteAllTextAsync(file, $"#!/bin/sh\n[ -n \"$IPVSOP_CONFINED\" ] && exec {program} \"$@\"\nIPVSOP_CONFINED=1 exec {confined}\n");
        File.SetUnixFileMode(file, (UnixFileMode)0x1ED);
    }

    /// <summary>Starts the container (again): the script in the namespace, confined.</summary>
    public async Task StartAsync()
    {
        process.Should().BeNull("one container at a time");
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["netns", "exec", Namespace, .. ContainerIdentity.FrrSidecar.Confine(Script)])
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["FRR_CONF_DIR"] = ConfigurationDirectory;
        start.Environment["FRR_RUN"] = Sockets;
        start.Environment["FRR_PATHSPACE"] = PathSpace;
        var started = Process.Start(start) ?? throw new InvalidOperationException("could not start the FRR sidecar");
        started.OutputDataReceived += (_, line) => Append(line.Data);
        started.ErrorDataReceived += (_, line) => Append(line.Data);
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        process = started;
        foreach (var daemon in new[] { "zebra", "bgpd", "bfdd" })
        {
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(Sockets, $"{daemon}.vty")) || started.HasExited,
                () => $"{daemon} listens on its vty socket\n{Output}", TimeSpan.FromSeconds(60));
        }
        started.HasExited.Should().BeFalse($"the container keeps running\n{Output}");
    }

    /// <summary>Kills one daemon, as a crash would, and waits for the container to end because of it.</summary>
    public async Task<int> KillDaemonAsync(string daemon)
    {
        var pid = int.Parse((await File.ReadAllTextAsync(Path.Combine(Sockets, $"{daemon}.pid"))).Trim(), CultureInfo.InvariantCulture);
        await Processes.RunAsync("kill", ["-9", pid.ToString(CultureInfo.InvariantCulture)]);
        return await ExitedAsync();
    }

    /// <summary>Stops the container as the kubelet does (SIGTERM) and waits for it to end.</summary>
    public async Task<int> StopAsync()
    {
        if (process is null)
        {
            return 0;
        }
        await Processes.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
        return await ExitedAsync();
    }

    private async Task<int> ExitedAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60 * Eventually.Scale));
        await process!.WaitForExitAsync(timeout.Token);
        var status = process.ExitCode;
        process.Dispose();
        process = null;
        return status;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (process is not null)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }
        foreach (var pidFile in System.IO.Directory.Exists(Sockets) ? System.IO.Directory.GetFiles(Sockets, "*.pid") : [])
        {
            await Processes.RunAsync("kill", ["-9", (await File.ReadAllTextAsync(pidFile)).Trim()]);
        }
        try
        {
            System.IO.Directory.Delete(PathSpaceDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A daemon still writing as it dies: left for the next run, which reuses it.
        }
    }
}
