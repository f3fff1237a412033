using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using IpvsOperator.Dataplane.Heartbeats;
using IpvsOperator.Node.Announcement;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// What the peer heartbeats cost each node at 50 nodes (issue 34): 50 agents' heartbeats in this
/// process, each sending to the 49 others every interval over real UDP on loopback, for the old
/// default interval (500 ms) and the new one (250 ms, the retry period of the faster takeover).
/// Per node: packets and bytes sent and received per second, heartbeats lost, and the CPU the
/// process spent per node (signing, verifying, bookkeeping and the socket calls); then the CPU of one
/// heartbeat without sockets (sign, verify, bookkeeping) in a tight loop.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- heartbeats</c>.
/// </summary>
internal static class HeartbeatCost
{
    private const int Nodes = 50;
    private static readonly TimeSpan Measured = TimeSpan.FromSeconds(20);

    /// <summary>UDP on loopback, counting what passes.</summary>
    private sealed class CountingTransport(UdpHeartbeatTransport udp) : IHeartbeatTransport
    {
        public long PacketsSent;
        public long BytesSent;
        public long PacketsReceived;
        public long BytesReceived;

        public IPEndPoint LocalEndPoint => udp.LocalEndPoint;

        public void Send(ReadOnlySpan<byte> packet, IPEndPoint destination)
        {
            udp.Send(packet, destination);
            Interlocked.Increment(ref PacketsSent);
            Interlocked.Add(ref BytesSent, packet.Length);
        }

        public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            var length = await udp.ReceiveAsync(buffer, cancellationToken);
            Interlocked.Increment(ref PacketsReceived);
            Interlocked.Add(ref BytesReceived, length);
            return length;
        }

        public void Dispose() => udp.Dispose();
    }

    public static async Task RunAsync()
    {
        Console.WriteLine($"{Nodes} nodes, each heartbeat to the {Nodes - 1} others over UDP on loopback, {Measured.TotalSeconds:F0} s per interval, {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| interval | packets/s sent per node | packets/s received per node | bytes/s sent per node (UDP payload) | lost | CPU per node (% of a core) | CPU per heartbeat sent and received |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var interval in new[] { TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(250) })
        {
            await MeasureAsync(interval);
        }
        Console.WriteLine();
        MeasureOneHeartbeat();
    }

    private static async Task MeasureAsync(TimeSpan interval)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var names = Enumerable.Range(1, Nodes).Select(i => $"worker-{i:D2}.lb.example.com").ToArray();
        var transports = names.Select(_ => new CountingTransport(new UdpHeartbeatTransport(new IPEndPoint(IPAddress.Loopback, 0)))).ToArray();
        var agents = names.Select((name, i) => new PeerHeartbeats(name, key, transports[i], NullLogger.Instance)).ToArray();
        var endpoints = names.Select((name, i) => (name, transports[i].LocalEndPoint)).ToDictionary(p => p.name, p => p.LocalEndPoint);
        foreach (var agent in agents)
        {
            agent.SetPeers(endpoints);
        }
        using var stop = new CancellationTokenSource();
        var receiving = agents.Select(a => Task.Run(() => a.ReceiveAsync(stop.Token))).ToArray();
        // Each node on its own timer, started at a spread offset as real agents would be.
        var sending = agents.Select((agent, i) => Task.Run(async () =>
        {
            await Task.Delay(interval * i / Nodes);
            using var timer = new PeriodicTimer(interval);
            try
            {
                do
                {
                    agent.Send(PeerState.Renewing);
                }
                while (await timer.WaitForNextTickAsync(stop.Token));
            }
            catch (OperationCanceledException)
            {
                // measured
            }
        })).ToArray();

        // A second to settle (JIT, first packets), then the measured span.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var before = Snapshot(transports, agents, names);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.Delay(Measured);
        var elapsed = clock.Elapsed.TotalSeconds;
        var spent = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var after = Snapshot(transports, agents, names);
        await stop.CancelAsync();
        await Task.WhenAll(sending.Concat(receiving));
        foreach (var agent in agents)
        {
            agent.Dispose();
        }

        var sent = (after.Packets - before.Packets) / elapsed / Nodes;
        var received = (after.Received - before.Received) / elapsed / Nodes;
        var bytes = (after.Bytes - before.Bytes) / elapsed / Nodes;
        var lost = after.Lost - before.Lost;
        var perNode = spent / elapsed / Nodes;
        var perHeartbeat = spent / (after.Packets - before.Packets);
        Console.WriteLine($"| {interval.TotalMilliseconds:F0} ms | {sent:F1} | {received:F1} | {bytes:N0} | {lost} of {after.Received - before.Received + lost:N0} | {100 * perNode:F2} % | {perHeartbeat * 1e6:F1} µs |");
    }

    private static (long Packets, long Bytes, long Received, long Lost) Snapshot(CountingTransport[] transports, PeerHeartbeats[] agents, string[] names)
    {
        long lost = 0, accepted = 0;
        foreach (var agent in agents)
        {
            foreach (var name in names)
            {
                var tally = agent.Tally(name);
                lost += tally.Lost;
                accepted += tally.Received;
            }
        }
        return (transports.Sum(t => Interlocked.Read(ref t.PacketsSent)), transports.Sum(t => Interlocked.Read(ref t.BytesSent)), accepted, lost);
    }

    /// <summary>A clock the loop sets to each packet's time: the receiver refuses packets further than 30 s from its clock.</summary>
    private sealed class SteppedClock : TimeProvider
    {
        public long Milliseconds;

        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Milliseconds);
    }

    /// <summary>One heartbeat's sign, verify and bookkeeping, without sockets: the floor of the figure above.</summary>
    private static void MeasureOneHeartbeat()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var clock = new SteppedClock();
        var receiver = new PeerHeartbeats("worker-01.lb.example.com", key, new CountingTransport(new UdpHeartbeatTransport(new IPEndPoint(IPAddress.Loopback, 0))), NullLogger.Instance, clock);
        const int count = 200_000;
        var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var round = 0; round < 2; round++)
        {
            // The first round warms up (JIT); the second is measured.
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < count; i++)
            {
                // A fresh time per packet: a repeated one would be refused as a replay before the bookkeeping.
                clock.Milliseconds = start + (round * count) + i;
                var packet = new Heartbeat("worker-02.lb.example.com", PeerState.Renewing, clock.Milliseconds, (uint)((round * count) + i)).Encode(key);
                receiver.Accept(packet);
            }
            var spent = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            if (round == 1)
            {
                Console.WriteLine($"one heartbeat encoded, signed, verified and accepted, no socket: {spent / count * 1e6:F2} µs of CPU ({count:N0} in a loop); for 49 peers at 4 a second, sending and receiving: {2 * 49 * 4 * spent / count * 100:F3} % of a core");
            }
        }
        receiver.Dispose();
    }
}
