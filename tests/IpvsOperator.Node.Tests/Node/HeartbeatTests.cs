using IpvsOperator.Dataplane.Heartbeats;
using System.Net;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Node;
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

    /// <summary>Keeps what is sent, to read it back.</summary>
    private sealed class Recorder : IHeartbeatTransport
    {
        public List<(byte[] Packet, IPEndPoint To)> Sent { get; } = [];

        public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 7947);

        public void Send(ReadOnlySpan<byte> packet, IPEndPoint destination) => Sent.Add((packet.ToArray(), destination));

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => ValueTask.FromException<int>(new NotSupportedException());

        public void Dispose()
        {
        }
    }

    private static long Now(TimeProvider clock) => clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A heartbeat of node-b with sequence number <paramref name="sequence"/>, sent now, the clock then moved on by a round.</summary>
    private static byte[] From(ManualClock clock, uint sequence, TimeSpan? round = null, string node = "node-b")
    {
        var packet = new Heartbeat(node, PeerState.Renewing, Now(clock), sequence).Encode(Key);
        clock.Now += round ?? TimeSpan.FromMilliseconds(250);
        return packet;
    }

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

    [Test]
    public void Gaps_in_a_peers_sequence_are_counted_as_lost_once_and_a_replay_or_an_overtaken_heartbeat_changes_nothing()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new NoNetwork(), NullLogger.Instance, clock);
        byte[][] sent = [.. Enumerable.Range(0, 8).Select(i => From(clock, (uint)i))];

        peers.Accept(sent[0]);
        peers.Accept(sent[1]);
        peers.Accept(sent[4]); // 2 and 3 lost, or late
        peers.Tally("node-b").Should().Be(new PeerTally(3, 2));

        peers.Accept(sent[3]); // late: overtaken by 4, refused as not newer
        peers.Accept(sent[4]); // replayed
        peers.Accept(sent[1]); // replayed, older
        peers.Tally("node-b").Should().Be(new PeerTally(3, 2), "neither a late heartbeat nor a replay counts again, and loss never goes back");

        peers.Accept(sent[5]);
        peers.Accept(sent[7]);
        peers.Tally("node-b").Should().Be(new PeerTally(5, 3));
    }

    [Test]
    public void A_sequence_that_wraps_loses_nothing_and_one_that_jumps_far_ahead_counts_at_most_one_heartbeat_per_10_ms()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new NoNetwork(), NullLogger.Instance, clock);

        foreach (var sequence in new[] { uint.MaxValue - 1, uint.MaxValue, 0u, 1u })
        {
            peers.Accept(From(clock, sequence));
        }
        peers.Tally("node-b").Should().Be(new PeerTally(4, 0), "2^32 - 1 is followed by 0");
        peers.Accept(From(clock, 4));
        peers.Tally("node-b").Should().Be(new PeerTally(5, 2), "2 and 3 across no wrap");

        // Signed with the key (a broken or hostile agent): a jump of two billion in half a second.
        peers.Accept(From(clock, 5, TimeSpan.FromMilliseconds(500)));
        peers.Accept(From(clock, 2_000_000_005));
        peers.Tally("node-b").Should().Be(new PeerTally(7, 2 + 50), "500 ms of the sender's time hold at most 50 heartbeats");
        PeerHeartbeats.SequenceGap(7, 7 + 1_000_000, long.MaxValue).Should().Be(999_999, "a long silence counts the whole gap");
    }

    [Test]
    public void A_restarted_sender_starting_its_sequence_again_counts_no_loss_and_never_a_negative_one()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new NoNetwork(), NullLogger.Instance, clock);
        peers.Accept(From(clock, 500));
        peers.Accept(From(clock, 501));

        // The agent restarts: newer heartbeats, its sequence from 0 again (behind the last one by 501).
        peers.Accept(From(clock, 0));
        peers.Accept(From(clock, 1));
        peers.Accept(From(clock, 2));

        peers.Tally("node-b").Should().Be(new PeerTally(5, 0));
        PeerHeartbeats.SequenceGap(501, 0, 250).Should().Be(0);
        PeerHeartbeats.SequenceGap(9, 9, 250).Should().Be(0, "the same number again, newer: a restart, not a loss");
    }

    [Test]
    public void The_sequence_is_signed_and_each_peer_gets_its_own()
    {
        var clock = new ManualClock();
        var network = new Recorder();
        var peers = new PeerHeartbeats("node-a", Key, network, NullLogger.Instance, clock);
        IPEndPoint b = new(IPAddress.Loopback, 1), c = new(IPAddress.Loopback, 2);
        peers.SetPeers(new Dictionary<string, IPEndPoint> { ["node-b"] = b, ["node-c"] = c });
        peers.Send(PeerState.Renewing);
        clock.Now += TimeSpan.FromMilliseconds(250);
        peers.SetPeers(new Dictionary<string, IPEndPoint> { ["node-b"] = b });
        peers.Send(PeerState.Renewing);
        peers.SetPeers(new Dictionary<string, IPEndPoint> { ["node-b"] = b, ["node-c"] = c });
        peers.Send(PeerState.Renewing);

        network.Sent.Where(s => s.To.Equals(b)).Select(s => Heartbeat.Decode(s.Packet, Key, out _)!.Sequence).Should().Equal(0u, 1u, 2u);
        network.Sent.Where(s => s.To.Equals(c)).Select(s => Heartbeat.Decode(s.Packet, Key, out _)!.Sequence)
            .Should().Equal([0u, 1u], "a heartbeat not sent to a peer is not a gap in its sequence");

        var tampered = network.Sent[^1].Packet.ToArray();
        tampered[13] ^= 1; // the sequence's last byte
        Heartbeat.Decode(tampered, Key, out var why).Should().BeNull();
        why.Should().Contain("not signed");
    }

    [Test]
    public void A_version_1_heartbeat_from_an_agent_not_yet_upgraded_is_accepted_and_answered_in_version_1()
    {
        var clock = new ManualClock();
        var network = new Recorder();
        var peers = new PeerHeartbeats("node-a", Key, network, NullLogger.Instance, clock);
        peers.SetPeers(new Dictionary<string, IPEndPoint> { ["node-b"] = new(IPAddress.Loopback, 1) });

        var old = new Heartbeat("node-b", PeerState.Keeping, Now(clock)).Encode(Key);
        old[0].Should().Be(1);
        old.Length.Should().Be(11 + "node-b".Length + 32, "version 1's layout, as agents before the sequence send it");
        peers.Accept(old);
        peers.Last("node-b")!.Value.State.Should().Be(PeerState.Keeping);
        peers.Send(PeerState.Renewing);
        Heartbeat.Decode(network.Sent[^1].Packet, Key, out _)!.Sequence.Should().BeNull("a peer heard only in version 1 would refuse version 2");

        clock.Now += TimeSpan.FromMilliseconds(250);
        peers.Accept(From(clock, 0));
        peers.Send(PeerState.Renewing);
        Heartbeat.Decode(network.Sent[^1].Packet, Key, out _)!.Sequence.Should().Be(0u, "upgraded, it is sent version 2");
        peers.Tally("node-b").Should().Be(new PeerTally(2, 0), "no loss is counted across versions");
    }

    [Test]
    public void The_metrics_count_what_is_sent_received_and_lost_per_peer()
    {
        var clock = new ManualClock();
        var peers = new PeerHeartbeats("node-a", Key, new Recorder(), NullLogger.Instance, clock);
        const string peer = "node-metrics"; // a name no other test uses: the metrics are the process's
        peers.SetPeers(new Dictionary<string, IPEndPoint> { [peer] = new(IPAddress.Loopback, 1) });
        var (sent, received, lost) = (NodeMetrics.HeartbeatsSent.WithLabels(peer).Value, NodeMetrics.HeartbeatsReceived.WithLabels(peer).Value, NodeMetrics.HeartbeatsLost.WithLabels(peer).Value);

        peers.Send(PeerState.Renewing);
        peers.Accept(From(clock, 10, node: peer));
        peers.Accept(From(clock, 13, node: peer));

        NodeMetrics.HeartbeatsSent.WithLabels(peer).Value.Should().Be(sent + 1);
        NodeMetrics.HeartbeatsReceived.WithLabels(peer).Value.Should().Be(received + 2);
        NodeMetrics.HeartbeatsLost.WithLabels(peer).Value.Should().Be(lost + 2);
    }
}
