using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Entities;
using IpvsOperator.Tests.Support;
using static IpvsOperator.Tests.Support.Processes;

namespace IpvsOperator.Tests.Node.Kernel;

/// <summary>One probe: when it started and ended (Unix seconds), and the answer (null: it failed).</summary>
internal sealed record VipProbe(double At, string? Answer, double Until);

/// <summary>
/// A client in a network namespace of its own asking a VIP, as the failover tests do: probes ten
/// times a second from sockets made inside the namespace (starting curl for each takes seconds under
/// emulation, which would blur an outage), and curl for answers that name the backend's peer.
/// </summary>
internal sealed class VipClient(string ns, CancellationToken stop)
{
    public static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>Probes of GET /up, one new connection each (a new source port), every 100 ms until stopped.</summary>
    public ConcurrentQueue<VipProbe> Probe(string vip, TimeSpan connectTimeout)
    {
        var probes = new ConcurrentQueue<VipProbe>();
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var at = Now();
                var answer = await ProbeOnceAsync(vip, connectTimeout);
                probes.Enqueue(new VipProbe(at, answer, Now()));
                await Task.Delay(100, CancellationToken.None);
            }
        });
        return probes;
    }

    private async Task<string?> ProbeOnceAsync(string vip, TimeSpan connectTimeout)
    {
        try
        {
            var address = IPAddress.Parse(vip);
            using var socket = NetworkNamespaces.Inside($"/var/run/netns/{ns}", () => new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
            using (var connect = new CancellationTokenSource(connectTimeout))
            {
                await socket.ConnectAsync(address, 80, connect.Token);
            }
            await socket.SendAsync("GET /up HTTP/1.0\r\n\r\n"u8.ToArray());
            using var read = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var buffer = new byte[4096];
            var text = new System.Text.StringBuilder();
            int received;
            while ((received = await socket.ReceiveAsync(buffer, read.Token)) > 0)
            {
                text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, received));
            }
            return text.ToString().EndsWith("up\n", StringComparison.Ordinal) ? "up" : null;
        }
        catch (Exception error) when (error is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Asks /cgi-bin/who with curl until the answer (the backend's peer, "bk a.b.c.d") is the one expected.</summary>
    public async Task<string> AnswerAsync(string vip, Func<string, bool> expected, string because)
    {
        string? answer = null;
        await Eventually.TrueAsync(async () =>
        {
            var host = vip.Contains(':', StringComparison.Ordinal) ? $"[{vip}]" : vip;
            var result = await RunAsync("ip", ["netns", "exec", ns, "curl", "-s", "-g", "-m", "3", $"http://{host}/cgi-bin/who"], TimeSpan.FromSeconds(20));
            answer = result.ExitCode == 0 ? Normalise(result.Output) : null;
            return answer is { } a && expected(a);
        }, () => $"{because}; last answer: {answer ?? "(no answer)"}", TimeSpan.FromSeconds(60));
        return answer!;
    }

    // busybox httpd shows IPv4 clients as [::ffff:a.b.c.d] and IPv6 ones in brackets.
    private static string Normalise(string answer) => answer.Trim().Replace("[::ffff:", string.Empty, StringComparison.Ordinal)
        .Replace("[", string.Empty, StringComparison.Ordinal).Replace("]", string.Empty, StringComparison.Ordinal);

    /// <summary>
    /// The backend the failover tests ask: busybox httpd in its namespace on port 8080, with /up (a
    /// static page, served without a fork) and /cgi-bin/who (the peer it sees).
    /// </summary>
    public static async Task<Process> StartBackendAsync(string ns, string work)
    {
        var cgi = Path.Combine(work, "www", "cgi-bin");
        Directory.CreateDirectory(cgi);
        await File.WriteAllTextAsync(Path.Combine(cgi, "who"), "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nbk %s\\n' \"$REMOTE_ADDR\"\n");
        await Sh($"chmod 755 {Path.Combine(cgi, "who")}");
        await File.WriteAllTextAsync(Path.Combine(work, "www", "up"), "up\n");
        return Process.Start("ip", ["netns", "exec", ns, "busybox", "httpd", "-f", "-p", "8080", "-h", Path.Combine(work, "www")]);
    }

    /// <summary>
    /// The node agent the fixtures start: the Native AOT build the image ships when
    /// IPVSOP_NODE_AGENT names it (make test-kernel does, unless AGENT=jit), else <c>dotnet ipvs-operator.dll</c>.
    /// </summary>
    public static string[] AgentCommand { get; } = Environment.GetEnvironmentVariable("IPVSOP_NODE_AGENT") is { Length: > 0 } path
        ? File.Exists(path) ? [path] : throw new FileNotFoundException($"IPVSOP_NODE_AGENT names {path}, which does not exist: make node-aot builds it", path)
        : ["dotnet", Path.Combine(AppContext.BaseDirectory, "ipvs-operator.dll")];

    /// <summary>What the agents started by <see cref="StartAgent"/> write into their IPVSNode's spec.build.</summary>
    public static string AgentBuild => AgentCommand.Length == 1 ? IPVSNodeSpec.NativeAotBuild : IPVSNodeSpec.JitBuild;

    /// <summary>An <c>ipvs-operator node</c> process in a namespace, its output kept.</summary>
    public static (Process Process, ConcurrentQueue<string> Log) StartAgent(string ns, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["netns", "exec", ns, .. AgentCommand, "node", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        var log = new ConcurrentQueue<string>();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => log.Enqueue(e.Data ?? string.Empty);
        process.ErrorDataReceived += (_, e) => log.Enqueue(e.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, log);
    }
}
