using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Generation;
using k8s;
using k8s.Models;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// The controller and the node agent each as a process of its own, as they run in a cluster,
/// against LocalCluster in this process: the time from starting the process to its first
/// completed sync, and its memory once settled (RSS and its peak from /proc, the managed heap
/// from its own /metrics), at 100 and 2,000 LoadBalancer Services of 3 ports and 5 endpoints.
/// The agent runs on the in-memory dataplane, so its RSS also holds the IPVS table that the kernel
/// would hold on a node: an upper bound.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- footprint [--operator DIR] [--env NAME=VALUE]... [--services N]... [--settle SECONDS] [--floor FILE] [--aot-agent FILE]...</c>;
/// DIR is a build or publish output of IpvsOperator (default: the copy next to this harness);
/// FILE is the Native AOT floor program (tools/aot-floor), measured after the agent on the same data;
/// --aot-agent FILE the node agent built with Native AOT (tools/node-aot), measured the same way as the agent.
/// </summary>
internal static class ProcessFootprint
{
    private static readonly string[] PortNames = NodeConvergence.PortNames;
    private const int Endpoints = 5;

    public static async Task RunAsync(IReadOnlyList<string> args)
    {
        var operatorDirectory = AppContext.BaseDirectory;
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        var sizes = new List<int>();
        string? floor = null;
        var aotAgents = new List<string>();
        var settle = TimeSpan.FromSeconds(12);
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--operator":
                    operatorDirectory = Path.GetFullPath(args[++i]);
                    break;
                case "--env":
                    var pair = args[++i].Split('=', 2);
                    environment[pair[0]] = pair[1];
                    break;
                case "--floor":
                    floor = Path.GetFullPath(args[++i]);
                    break;
                case "--aot-agent":
                    aotAgents.Add(Path.GetFullPath(args[++i]));
                    break;
                case "--settle":
                    // Longer gives time to take a heap dump of a settled process (dotnet-gcdump collect -p PID).
                    settle = TimeSpan.FromSeconds(int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                case "--services":
                    sizes.Add(int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}'; valid: --operator DIR, --env NAME=VALUE, --services N, --settle SECONDS, --floor FILE, --aot-agent FILE");
            }
        }
        if (sizes.Count == 0)
        {
            sizes = [100, 2_000];
        }
        var launcher = OperatorLauncher.Find(operatorDirectory, environment);
        Console.WriteLine($"operator: {launcher.Describe()}; environment: {(environment.Count == 0 ? "none added" : string.Join(' ', environment.Select(e => $"{e.Key}={e.Value}")))}");
        Console.WriteLine();
        Console.WriteLine("| component | Services | start to first sync | CPU until then | RSS settled | of it mapped files | RSS peak | managed heap | threads |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var services in sizes)
        {
            foreach (var row in await MeasureAsync(launcher, services, floor, aotAgents, settle))
            {
                Console.WriteLine(row);
            }
        }
    }

    private static async Task<List<string>> MeasureAsync(OperatorLauncher launcher, int services, string? floor, List<string> aotAgents, TimeSpan settle)
    {
        var rows = new List<string>();
        var work = Directory.CreateTempSubdirectory("ipvs-footprint-");
        try
        {
            await using var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { HistoryLimit = 50_000 });
            using var client = server.CreateClient();
            var kubeconfig = server.WriteKubeconfig(Path.Combine(work.FullName, "kubeconfig"));
            await PrepareClusterAsync(client, services);

            // The controller: from its start to every Service having its address in status.
            var controllerPort = FreePort();
            using (var controller = launcher.Start(
                ["controller", "--kubeconfig", kubeconfig, "--leader-elect=false", "--webhook-port", "-1", "--metrics-port", $"{controllerPort}"], work.FullName))
            {
                var startedAt = Stopwatch.StartNew();
                await WaitUntilAsync(async () => await CountAllocatedAsync(client) == services, controller, TimeSpan.FromMinutes(5));
                var firstSync = (startedAt.Elapsed, controller.CpuTime());
                rows.Add(await SettleAndMeasureAsync("controller, allocating every Service", services, firstSync, controller, controllerPort, settle));
                controller.Stop();
            }

            // Restarted with every address allocated: from its start to every Service reconciled once, with nothing to write.
            using (var controller = launcher.Start(
                ["controller", "--kubeconfig", kubeconfig, "--leader-elect=false", "--webhook-port", "-1", "--metrics-port", $"{controllerPort}"], work.FullName))
            {
                var startedAt = Stopwatch.StartNew();
                await WaitUntilAsync(async () => await ServicesReconciledAsync(controllerPort) >= services, controller, TimeSpan.FromMinutes(5));
                var firstSync = (startedAt.Elapsed, controller.CpuTime());
                rows.Add(await SettleAndMeasureAsync("controller, restarted", services, firstSync, controller, controllerPort, settle));
                controller.Stop();
            }

            // The node agent: from its start to /readyz (its first completed sync of the whole table).
            var agentPort = FreePort();
            rows.Add(await MeasureAgentAsync("node agent", launcher, kubeconfig, agentPort, services, work, settle));
            // The same agent built with Native AOT (tools/node-aot), on the same data; several builds (or wrappers setting
            // the runtime's DOTNET_ variables) are measured one after the other, each named by its file.
            foreach (var aotAgent in aotAgents)
            {
                var aot = new OperatorLauncher(Path.GetDirectoryName(aotAgent)!, aotAgent, null, launcher.Environment);
                var label = aotAgents.Count == 1 ? "node agent (Native AOT)" : $"node agent (Native AOT, {aotAgent})";
                rows.Add(await MeasureAgentAsync(label, aot, kubeconfig, agentPort, services, work, settle));
            }

            // The floor of a Native AOT agent (tools/aot-floor): the same watches and caches, no work.
            if (floor is not null)
            {
                using var process = new OperatorLauncher(Path.GetDirectoryName(floor)!, floor, null, new Dictionary<string, string>())
                    .Start(["--kubeconfig", kubeconfig, "--metrics-port", $"{agentPort}"], work.FullName);
                var startedAt = Stopwatch.StartNew();
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                await WaitUntilAsync(async () => await IsReadyAsync(http, agentPort), process, TimeSpan.FromMinutes(5));
                rows.Add(await SettleAndMeasureAsync("AOT floor (watches and caches only)", services, (startedAt.Elapsed, process.CpuTime()), process, agentPort, settle));
                process.Stop();
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
        return rows;
    }

    /// <summary>A node agent, from its start to /readyz (its first completed sync of the whole table), then settled.</summary>
    private static async Task<string> MeasureAgentAsync(string label, OperatorLauncher launcher, string kubeconfig, int port, int services, DirectoryInfo work, TimeSpan settle)
    {
        using var agent = launcher.Start(
            ["node", "--kubeconfig", kubeconfig, "--node-name", "node-a", "--dataplane", "memory", "--announce", "none", "--sync-period", "5s",
             "--metrics-port", $"{port}", "--state-file", Path.Combine(work.FullName, "bound-addresses")], work.FullName);
        var startedAt = Stopwatch.StartNew();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await WaitUntilAsync(async () => await IsReadyAsync(http, port), agent, TimeSpan.FromMinutes(5));
        var firstSync = (startedAt.Elapsed, agent.CpuTime());
        var programmed = await ScrapeAsync(port, "ipvsoperator_node_virtual_services");
        if (programmed != services * PortNames.Length)
        {
            throw new InvalidOperationException($"the {label} was ready with {programmed} virtual services; {services * PortNames.Length} expected");
        }
        var row = await SettleAndMeasureAsync(label, services, firstSync, agent, port, settle);
        agent.Stop();
        return row;
    }

    /// <summary>Two periodic syncs and the GC's own pace later (12 s unless --settle says); no forced collection, as a running process is measured.</summary>
    private static async Task<string> SettleAndMeasureAsync(string component, int services, (TimeSpan Wall, TimeSpan Cpu) firstSync, OperatorProcess process, int port, TimeSpan settle)
    {
        await Task.Delay(settle);
        var (rss, file, peak, threads) = process.ReadStatus();
        var heap = await ScrapeAsync(port, "dotnet_total_memory_bytes");
        return $"| {component} | {services:N0} | {firstSync.Wall.TotalSeconds:F2} s | {firstSync.Cpu.TotalSeconds:F2} s | {rss / 1024.0:F0} MiB | {file / 1024.0:F0} MiB | {peak / 1024.0:F0} MiB | {heap / 1024 / 1024:F1} MiB | {threads} |";
    }

    private static async Task PrepareClusterAsync(IKubernetes client, int services)
    {
        foreach (var crd in new ManifestGenerator(IpvsOperator.Commands.OperatorAssemblies.All).CustomResourceDefinitions())
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        }
        await client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "node-a" } });
        await new EntityClient<V1Alpha1IPPool>(client).CreateAsync(new V1Alpha1IPPool
        {
            Metadata = new V1ObjectMeta { Name = "bench" },
            // 32,768 addresses: room for the 10,000 Services of the largest run.
            Spec = new IPPoolSpec { Addresses = ["198.18.0.0/17"] },
        });
        await ParallelWriters.RunAsync(services, async i =>
        {
            await client.CoreV1.CreateNamespacedServiceAsync(NodeConvergence.Service(i), "default");
            await client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(NodeConvergence.Slice(i, Endpoints, generation: 0), "default");
        });
    }

    private static async Task<int> CountAllocatedAsync(IKubernetes client)
    {
        var list = await client.CoreV1.ListNamespacedServiceAsync("default");
        return list.Items.Count(s => s.Status?.LoadBalancer?.Ingress is { Count: > 0 });
    }

    /// <summary>Reconciles the Service controller has finished, from its own histogram; 0 while it does not answer yet.</summary>
    private static async Task<double> ServicesReconciledAsync(int port)
    {
        try
        {
            return await ScrapeAsync(port, "ipvsoperator_reconcile_duration_seconds_count", label: "<V1Service>\"");
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException)
        {
            return 0;
        }
    }

    internal static async Task<bool> IsReadyAsync(HttpClient http, int port)
    {
        try
        {
            using var response = await http.GetAsync($"http://127.0.0.1:{port}/readyz");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false; // not listening yet
        }
        catch (TaskCanceledException)
        {
            return false; // no answer within the client's timeout: a busy machine, asked again
        }
    }

    /// <summary>Polls every 10 ms; a process that exits meanwhile fails the run with its output.</summary>
    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, OperatorProcess process, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the operator process exited with {process.ExitCode}:\n{process.Output}");
            }
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"the operator process did not get there in {timeout}:\n{process.Output}");
            }
            await Task.Delay(10);
        }
    }

    internal static async Task<double> ScrapeAsync(int port, string metric, string label = "")
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        var line = text.Split('\n').FirstOrDefault(l => (l.StartsWith(metric + " ", StringComparison.Ordinal) || l.StartsWith(metric + "{", StringComparison.Ordinal)) && l.Contains(label, StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"{metric} is not exported on port {port}");
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>How to start ipvs-operator from a build or publish folder: its native host if it has one, else <c>dotnet ipvs-operator.dll</c>.</summary>
internal sealed class OperatorLauncher(string directory, string fileName, string? dll, IReadOnlyDictionary<string, string> environment)
{
    public static OperatorLauncher Find(string directory, IReadOnlyDictionary<string, string> environment)
    {
        var host = Path.Combine(directory, "ipvs-operator");
        if (File.Exists(host))
        {
            return new OperatorLauncher(directory, host, null, environment);
        }
        var dll = Path.Combine(directory, "ipvs-operator.dll");
        return File.Exists(dll)
            ? new OperatorLauncher(directory, "dotnet", dll, environment)
            : throw new FileNotFoundException($"no ipvs-operator or ipvs-operator.dll in {directory}");
    }

    /// <summary>What --env added, for every process started.</summary>
    public IReadOnlyDictionary<string, string> Environment => environment;

    public string Describe()
    {
        if (Path.GetFullPath(directory) == Path.GetFullPath(AppContext.BaseDirectory))
        {
            return $"{fileName} (the build output next to this harness)";
        }
        var size = new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        var readyToRun = File.Exists(Path.Combine(directory, "ipvs-operator.dll")) && IsReadyToRun(Path.Combine(directory, "ipvs-operator.dll"));
        return $"{fileName}{(dll is null ? "" : " " + dll)} ({size / 1024.0 / 1024.0:F1} MiB in {directory}{(readyToRun ? ", ReadyToRun" : "")})";
    }

    public OperatorProcess Start(IEnumerable<string> arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        if (dll is not null)
        {
            start.ArgumentList.Add(dll);
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        return new OperatorProcess(Process.Start(start)!);
    }

    private static bool IsReadyToRun(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new System.Reflection.PortableExecutable.PEReader(stream);
        return reader.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
    }
}

/// <summary>A running operator process: its output kept for a failure's message, its status read from /proc.</summary>
internal sealed class OperatorProcess : IDisposable
{
    private readonly Process process;
    private readonly System.Text.StringBuilder output = new();

    public OperatorProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;

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

    /// <summary>User and system CPU the process has used (JIT, type loading and the work itself).</summary>
    public TimeSpan CpuTime()
    {
        process.Refresh();
        return process.TotalProcessorTime;
    }

    /// <summary>VmRSS, RssFile (mapped files: the runtime's and the assemblies' code) and VmHWM in KiB, and the thread count, from /proc/PID/status.</summary>
    public (long Rss, long File, long Peak, int Threads) ReadStatus()
    {
        var fields = File.ReadAllLines($"/proc/{process.Id}/status")
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1].Trim().Split(' ')[0], StringComparer.Ordinal);
        return (long.Parse(fields["VmRSS"], CultureInfo.InvariantCulture), long.Parse(fields["RssFile"], CultureInfo.InvariantCulture), long.Parse(fields["VmHWM"], CultureInfo.InvariantCulture), int.Parse(fields["Threads"], CultureInfo.InvariantCulture));
    }

    /// <summary>SIGTERM, as the kubelet stops it, then waits for it to end.</summary>
    public void Stop()
    {
        if (!process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", $"{process.Id}"]))
            {
                kill.WaitForExit();
            }
            if (!process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (output)
        {
            if (output.Length < 200_000)
            {
                output.AppendLine(line);
            }
        }
    }
}
