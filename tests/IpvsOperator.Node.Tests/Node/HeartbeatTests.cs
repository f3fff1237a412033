using IpvsOperator.Dataplane.Heartbeats;
using System.Net;
using IpvsOperator.Node.Announcement;
using Microsoft.Extensions.Logging.Abstractions;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Node;

/// <summary>What a peer heartbeat must withstand from anyone on the node network: forgery, tampering, replay, garbage.</summary>
public class HeartbeatTests
{
    private static readonly byte[] Key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly byte[] OtherKey = [.. Enumerable.Range(2, 32).Select(i => (byte)i)];

    private sealed class NoNetwork : IHeartbeatTransport
    {
        public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 7947);

        public void Send(ReadOnlySpan<byte> packet, IPEndPoint destination)
        {
        }

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => ValueTask.FromException<int>(new NotSupportedException());

        public void Dispose()
        {
        }
    }

    private static long Now(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds();

    [Test]
    public void A_heartbeat_round_trips_and_is_remembered_with_the_time_it_arrived()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new NoNetwork(), NullLogger.Instance, clock);

        peers.Accept(new Heartbeat("node-b", PeerState.Keeping, Now(clock)).Encode(Key));

        peers.Last("node-b").Should().Be(new HeardPeer(PeerState.Keeping, clock.GetUtcNow(), null));
    }

    [Test]
    public void Forged_tampered_truncated_and_oversized_packets_are_refused()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new NoNetwork(), NullLogger.Instance, clock);
        var genuine = new Heartbeat("node-b", PeerState.Renewing, Now(clock)).Encode(Key);
        var tampered = genuine.ToArray();
        tampered[1] = (byte)PeerState.Keeping; // Renewing → Keeping without the key

        peers.Accept(new Heartbeat("node-b", PeerState.Keeping, Now(clock)).Encode(OtherKey));
        peers.Accept(tampered);
        peers.Accept(genuine.AsSpan(0, genuine.Length - 1));
        peers.Accept(new byte[Heartbeat.MaxLength + 1]);
        peers.Accept([]);

        peers.Last("node-b").Should().BeNull("nothing unsigned, altered or malformed counts");
        Heartbeat.Decode(tampered, Key, out var why).Should().BeNull();
        why.Should().Contain("not signed");
    }

    [Test]
    public void A_replayed_or_older_heartbeat_is_refused_and_so_is_one_from_a_clock_far_off()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new NoNetwork(), NullLogger.Instance, clock);
        var keeping = new Heartbeat("node-b", PeerState.Keeping, Now(clock)).Encode(Key);
        peers.Accept(keeping);
        peers.Accept(new Heartbeat("node-b", PeerState.Withdrawn, Now(clock) + 1).Encode(Key));
        clock.Now += TimeSpan.FromSeconds(1);

        // An attacker replays the Keeping heartbeat to make node-b look like it still holds its addresses.
        peers.Accept(keeping);
        peers.Last("node-b")!.Value.State.Should().Be(PeerState.Withdrawn, "a replay is not newer than the last heartbeat of its sender");

        var fresh = new PeerHeartbeats("node-c", Key, new NoNetwork(), NullLogger.Instance, clock);
        clock.Now += PeerHeartbeats.MaxClockSkew;
        fresh.Accept(keeping);
        fresh.Last("node-b").Should().BeNull("an agent that restarted refuses heartbeats sent further back than the clock skew allowed");
    }

    [Test]
    public void A_heartbeat_claiming_to_come_from_this_node_is_refused()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new NoNetwork(), NullLogger.Instance, clock);

        peers.Accept(new Heartbeat("node-a", PeerState.Renewing, Now(clock)).Encode(Key));

        peers.Last("node-a").Should().BeNull();
    }

    [Test]
    public void A_peer_renewing_without_a_break_is_remembered_from_its_first_renewing_heartbeat()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new NoNetwork(), NullLogger.Instance, clock);
        var first = clock.GetUtcNow();
        peers.Accept(new Heartbeat("node-b", PeerState.Renewing, Now(clock)).Encode(Key));
        clock.Now += TimeSpan.FromSeconds(1);
        peers.Accept(new Heartbeat("node-b", PeerState.Renewing, Now(clock)).Encode(Key));

        peers.Last("node-b")!.Value.RenewingSince.Should().Be(first);

        clock.Now += TimeSpan.FromSeconds(1);
        peers.Accept(new Heartbeat("node-b", PeerState.Keeping, Now(clock)).Encode(Key));
        clock.Now += TimeSpan.FromSeconds(1);
        peers.Accept(new Heartbeat("node-b", PeerState.Renewing, Now(clock)).Encode(Key));

        peers.Last("node-b")!.Value.RenewingSince.Should().Be(clock.GetUtcNow(), "a break starts the streak again");
    }
}
