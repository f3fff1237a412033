using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Runtime.Generation;
using k8s;
using k8s.Models;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// What active health checks cost a node agent: the agent as a process of its own (in-memory
/// dataplane) against LocalCluster, 2,000 Services of 3 ports with 5 endpoints each, every endpoint
/// a listener of this harness on a loopback address of its own (127.1.0.1 and up: 10,000 probe
/// targets), checked every 5 s. Over a 30 s window after a warm-up: probes per second, failed
/// probes, the agent's CPU, RSS and managed heap; once without checks, once with tcp, once with http.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- health [--operator DIR] [--services N]</c>.
/// </summary>
internal static class HealthCheckCost
{
    private const int Endpoints = 5;
    private const int ProbePort = 18080;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(15);

    public static async Task RunAsync(IReadOnlyList<string> args)
    {
        var operatorDirectory = AppContext.BaseDirectory;
        var services = 2_000;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--operator": operatorDirectory = Path.GetFullPath(args[++i]); break;
                case "--services": services = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'; valid: --operator DIR, --services N");
            }
        }
        var launcher = OperatorLauncher.Find(operatorDirectory, new Dictionary<string, string>());
        Console.WriteLine($"operator: {launcher.Describe()}; {services:N0} Services × {Endpoints} endpoints, checked every 5 s; measured over {Window.TotalSeconds:F0} s after {WarmUp.TotalSeconds:F0} s");
        Console.WriteLine();
        Console.WriteLine("| check | probe targets | probes/s | failed probes | agent CPU (of one core) | RSS | managed heap | threads |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        await using var backends = LoopbackBackends.Start(services * Endpoints);
        foreach (var check in new[] { "none", "tcp", "http" })
        {
            Console.WriteLine(await MeasureAsync(launcher, services, check, backends));
        }
    }

    /// <summary>The loopback address of Service i's endpoint e: 127.1.0.1 and up, 250 to a /24.</summary>
    private static string Address(int i, int e)
    {
        var k = i * Endpoints + e;
        return $"127.1.{k / 250}.{k % 250 + 1}";
    }

    private static V1Service Service(int i, string check)
    {
        var service = NodeConvergence.Service(i);
        if (check != "none")
        {
            service.Metadata.Annotations = new Dictionary<string, string>(service.Metadata.Annotations ?? new Dictionary<string, string>())
            {
                [WellKnown.Annotations.HealthCheck] = check,
                // One target per endpoint, not per port: the pods' health port.
                [WellKnown.Annotations.HealthCheckPort] = $"{ProbePort}",
                [WellKnown.Annotations.HealthCheckInterval] = "5s",
            };
        }
        return service;
    }

    private static V1EndpointSlice Slice(int i)
    {
        var slice = NodeConvergence.Slice(i, Endpoints, generation: 0);
        slice.Endpoints = [.. Enumerable.Range(0, Endpoints).Select(e => new V1Endpoint
        {
            Addresses = [Address(i, e)], NodeName = "node-b", Conditions = new V1EndpointConditions { Ready = true },
        })];
        return slice;
    }

    private static async Task<string> MeasureAsync(OperatorLauncher launcher, int services, string check, LoopbackBackends backends)
    {
        var work = Directory.CreateTempSubdirectory("ipvs-health-cost-");
        try
        {
            await using var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { HistoryLimit = 50_000 });
            using var client = server.CreateClient();
            var kubeconfig = server.WriteKubeconfig(Path.Combine(work.FullName, "kubeconfig"));
            foreach (var entity in new[] { typeof(V1Alpha1IPAllocation), typeof(V1Alpha1IPVSNode) })
            {
                await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(CrdGenerator.Generate(entity));
            }
            await ParallelWriters.RunAsync(services, i => NodeConvergence.CreateServiceAsync(client, i, Endpoints, i => Service(i, check), Slice));
            backends.Http = check == "http";
            var port = ProcessFootprint.FreePort();
            using var agent = launcher.Start(
                ["node", "--kubeconfig", kubeconfig, "--node-name", "node-a", "--dataplane", "memory", "--announce", "none", "--sync-period", "30s",
                 "--metrics-port", $"{port}", "--state-file", Path.Combine(work.FullName, "bound-addresses")], work.FullName);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            await ProcessFootprint.WaitUntilAsync(async () => await ProcessFootprint.IsReadyAsync(http, port), agent, TimeSpan.FromMinutes(5));
            var programmed = await ProcessFootprint.ScrapeAsync(port, "ipvsoperator_node_virtual_services");
            if (programmed != services * NodeConvergence.PortNames.Length)
            {
                throw new InvalidOperationException($"the agent was ready with {programmed} virtual services; {services * NodeConvergence.PortNames.Length} expected");
            }
            await Task.Delay(WarmUp);

            var (probesBefore, failedBefore) = await ProbesAsync(port);
            var cpuBefore = agent.CpuTime();
            var clock = Stopwatch.StartNew();
            await Task.Delay(Window);
            var (probesAfter, failedAfter) = await ProbesAsync(port);
            var cpu = agent.CpuTime() - cpuBefore;
            var elapsed = clock.Elapsed;
            var (rss, _, _, threads) = agent.ReadStatus();
            var heap = await ProcessFootprint.ScrapeAsync(port, "dotnet_total_memory_bytes");
            agent.Stop();
            var targets = check == "none" ? 0 : services * Endpoints;
            return $"| {check} | {targets:N0} | {(probesAfter - probesBefore) / elapsed.TotalSeconds:N0} | {failedAfter - failedBefore:N0} | " +
                $"{cpu / elapsed:P1} | {rss / 1024.0:F0} MiB | {heap / 1024 / 1024:F1} MiB | {threads} |";
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>All probes so far and the failed ones, summed over the results, from the agent's /metrics.</summary>
    private static async Task<(double All, double Failed)> ProbesAsync(int port)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
        var (all, failed) = (0.0, 0.0);
        foreach (var line in text.Split('\n').Where(l => l.StartsWith("ipvsoperator_node_health_probes_total{", StringComparison.Ordinal)))
        {
            var value = double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            all += value;
            failed += line.Contains("result=\"ok\"", StringComparison.Ordinal) ? 0 : value;
        }
        return (all, failed);
    }

    /// <summary>One listener per endpoint address: tcp probes are accepted and closed, http ones answered 200.</summary>
    private sealed class LoopbackBackends : IAsyncDisposable
    {
        private static readonly byte[] Ok = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        private readonly List<Socket> listeners = [];
        private readonly CancellationTokenSource stop = new();
        private readonly List<Task> loops = [];

        public bool Http { get; set; }

        public static LoopbackBackends Start(int count)
        {
            var backends = new LoopbackBackends();
            for (var k = 0; k < count; k++)
            {
                var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Parse(Address(k / Endpoints, k % Endpoints)), ProbePort));
                listener.Listen(64);
                backends.listeners.Add(listener);
                backends.loops.Add(backends.AcceptAsync(listener));
            }
            return backends;
        }

        private async Task AcceptAsync(Socket listener)
        {
            while (!stop.IsCancellationRequested)
            {
                Socket connection;
                try
                {
                    connection = await listener.AcceptAsync(stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = AnswerAsync(connection);
            }
        }

        private async Task AnswerAsync(Socket connection)
        {
            using (connection)
            {
                try
                {
                    if (Http)
                    {
                        var buffer = new byte[1024];
                        await connection.ReceiveAsync(buffer, SocketFlags.None, stop.Token);
                        await connection.SendAsync(Ok, SocketFlags.None, stop.Token);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException)
                {
                    // A probe that gave up: nothing to answer.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listeners.ForEach(l => l.Dispose());
            await Task.WhenAll(loops);
            stop.Dispose();
        }
    }
}
