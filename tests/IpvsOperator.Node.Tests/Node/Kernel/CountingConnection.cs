using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using IpvsOperator.Dataplane.Netlink;

namespace IpvsOperator.Tests.Node.Kernel;

/// <summary>
/// A long-lived TCP connection from a client namespace that sends a counter (1, 2, 3, ...) every
/// 100 ms and waits for the backend to echo it: any reset, close, or echo that is not the counter
/// just sent (a lost or repeated one) ends it with a <see cref="Failure"/>. The times of the echoes
/// (Unix seconds) show how long it stalled.
/// </summary>
internal sealed class CountingConnection : IDisposable
{
    private readonly Socket socket;
    private readonly ConcurrentQueue<double> echoes = new();
    private volatile string? failure;

    private CountingConnection(Socket socket, double openedAt)
    {
        this.socket = socket;
        OpenedAt = openedAt;
    }

    /// <summary>When the connection was asked for (before its SYN).</summary>
    public double OpenedAt { get; }

    public int Echoed => echoes.Count;

    public double FirstEchoAt => echoes.TryPeek(out var first) ? first : double.NaN;

    /// <summary>Why it ended (null: it goes on).</summary>
    public string? Failure => failure;

    /// <summary>Connects (waiting up to <paramref name="connectTimeout"/>, SYN retransmissions included) and starts counting.</summary>
    public static async Task<CountingConnection> OpenAsync(string ns, string source, int port, string vip, CancellationToken stop, TimeSpan? connectTimeout = null)
    {
        var opened = VipClient.Now();
        var socket = NetworkNamespaces.Inside($"/var/run/netns/{ns}", () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        socket.LingerState = new LingerOption(true, 0); // closed with a reset: no TIME_WAIT left for the next run's fixed ports
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), port));
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(stop))
        {
            connect.CancelAfter(connectTimeout ?? TimeSpan.FromSeconds(10));
            await socket.ConnectAsync(IPAddress.Parse(vip), 80, connect.Token);
        }
        var connection = new CountingConnection(socket, opened);
        _ = Task.Run(() => connection.CountAsync(stop), stop);
        return connection;
    }

    /// <summary>The longest time between two echoes of which the later came after <paramref name="since"/>: the stall a failover at that time caused.</summary>
    public double LongestStallSince(double since)
    {
        var times = echoes.ToArray();
        var longest = 0.0;
        for (var i = 1; i < times.Length; i++)
        {
            if (times[i] > since)
            {
                longest = Math.Max(longest, times[i] - times[i - 1]);
            }
        }
        return longest;
    }

    private async Task CountAsync(CancellationToken stop)
    {
        using var reader = new StreamReader(new NetworkStream(socket), Encoding.ASCII);
        try
        {
            for (var counter = 1; !stop.IsCancellationRequested; counter++)
            {
                var sent = counter.ToString(CultureInfo.InvariantCulture);
                await socket.SendAsync(Encoding.ASCII.GetBytes(sent + "\n"), stop);
                // Long enough for TCP's retransmissions to outlast a failover on the emulated machine.
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop);
                wait.CancelAfter(TimeSpan.FromSeconds(60));
                var answer = await reader.ReadLineAsync(wait.Token);
                if (answer != sent)
                {
                    failure = answer is null ? $"closed after counter {counter - 1}" : $"sent {sent}, got {answer}";
                    return;
                }
                echoes.Enqueue(VipClient.Now());
                await Task.Delay(100, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // the test is over
        }
        catch (Exception error) when (error is IOException or SocketException or OperationCanceledException)
        {
            failure = $"{error.GetType().Name} after {echoes.Count} echoes: {error.Message}";
        }
    }

    public void Dispose() => socket.Dispose();
}
