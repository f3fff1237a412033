using IpvsOperator.Dataplane.Heartbeats;
using System.Net;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Announcement;

/// <summary>What was last heard from one peer, on this node's clock.</summary>
/// <param name="RenewingSince">Since when it has said <see cref="PeerState.Renewing"/> without a break (null: it does not).</param>
internal readonly record struct HeardPeer(PeerState State, DateTimeOffset At, DateTimeOffset? RenewingSince);

/// <summary>How many heartbeats of one peer were accepted and how many its sequence says were lost on the way.</summary>
internal readonly record struct PeerTally(long Received, long Lost);

/// <summary>
/// Heartbeats between node agents, directly over the node network: a second source of liveness
/// beside the Leases, for when the API server cannot be reached. Each agent sends its state to
/// every peer whose presence Lease gives a heartbeat endpoint; a heartbeat counts only when signed
/// with the key the agents share and newer than the last one from its sender (a replay is refused).
/// Each heartbeat to a peer carries the next number of a sequence kept for that peer, so the peer
/// counts the gaps as lost (<see cref="SequenceGap"/> says how a gap is judged).
/// </summary>
internal sealed class PeerHeartbeats(string nodeName, byte[] key, IHeartbeatTransport transport, ILogger logger, TimeProvider? time = null) : IDisposable
{
    /// <summary>A heartbeat whose sender's clock is further than this from ours is refused: old packets replayed to an agent that restarted.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(30);

    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly Lock gate = new();
    private readonly Dictionary<string, (HeardPeer Heard, long SentAt, uint? Sequence)> heard = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PeerTally> tallies = new(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<string, IPEndPoint> peers = new Dictionary<string, IPEndPoint>();
    // Sent from one loop at a time: the next sequence number per peer, and the peers heard only in version 1.
    private readonly Dictionary<string, uint> nextSequence = new(StringComparer.Ordinal);
    private readonly HashSet<string> version1Peers = new(StringComparer.Ordinal);
    private readonly Lock sending = new();
    private long lastSentAt;
    private bool refusalReported;

    /// <summary>Where peers send to; written on this node's presence Lease.</summary>
    public IPEndPoint Endpoint => transport.LocalEndPoint;

    /// <summary>The peers to send to, by node name (from their presence Leases); a peer gone takes its metrics' series with it.</summary>
    public void SetPeers(IReadOnlyDictionary<string, IPEndPoint> endpoints)
    {
        var before = peers;
        peers = endpoints;
        foreach (var gone in before.Keys.Where(p => !endpoints.ContainsKey(p)))
        {
            NodeMetrics.HeartbeatsSent.RemoveLabelled(gone);
            NodeMetrics.HeartbeatsReceived.RemoveLabelled(gone);
            NodeMetrics.HeartbeatsLost.RemoveLabelled(gone);
        }
    }

    /// <summary>Sends <paramref name="state"/> to every peer, each with the next number of its sequence.</summary>
    public void Send(PeerState state)
    {
        lock (sending)
        {
            SendToEach(state);
        }
    }

    private void SendToEach(PeerState state)
    {
        // Strictly increasing even if the clock steps back: the receivers refuse anything not newer.
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var sentAt = lastSentAt = Math.Max(now, lastSentAt + 1);
        var current = peers;
        byte[]? version1 = null;
        foreach (var (peer, endpoint) in current)
        {
            if (peer == nodeName)
            {
                continue;
            }
            if (HeardOnlyInVersion1(peer))
            {
                // An agent from before the sequence refuses version 2 as malformed: it gets what it reads.
                transport.Send(version1 ??= new Heartbeat(nodeName, state, sentAt).Encode(key), endpoint);
            }
            else
            {
                var sequence = nextSequence.GetValueOrDefault(peer);
                nextSequence[peer] = unchecked(sequence + 1);
                transport.Send(new Heartbeat(nodeName, state, sentAt, sequence).Encode(key), endpoint);
            }
            NodeMetrics.HeartbeatsSent.WithLabels(peer).Inc();
        }
        if (nextSequence.Count > 2 * Math.Max(current.Count, 16))
        {
            foreach (var gone in nextSequence.Keys.Where(p => !current.ContainsKey(p)).ToList())
            {
                nextSequence.Remove(gone);
            }
        }
    }

    private bool HeardOnlyInVersion1(string peer)
    {
        lock (gate)
        {
            return version1Peers.Contains(peer);
        }
    }

    /// <summary>Heartbeats accepted from <paramref name="node"/> and lost on the way, as its sequence tells.</summary>
    public PeerTally Tally(string node)
    {
        lock (gate)
        {
            return tallies.GetValueOrDefault(node);
        }
    }

    /// <summary>
    /// How many heartbeats were lost between sequence numbers <paramref name="last"/> and
    /// <paramref name="next"/> of one sender, sent <paramref name="elapsedMilliseconds"/> apart by its
    /// clock. Counted modulo 2^32, so the sequence wraps without a false loss. A number behind the
    /// last (more than 2^31 ahead) or equal to it is a sender that started again at 0 (a restarted
    /// agent): no loss. A gap is never counted above one heartbeat per 10 ms of the sender's time,
    /// so a signed packet that jumps far ahead cannot inflate the count.
    /// </summary>
    public static long SequenceGap(uint last, uint next, long elapsedMilliseconds)
    {
        var ahead = unchecked(next - last);
        if (ahead == 0 || ahead > int.MaxValue)
        {
            return 0;
        }
        return Math.Min(ahead - 1, Math.Max(0, elapsedMilliseconds / 10));
    }

    /// <summary>What was last heard from <paramref name="node"/>, if anything.</summary>
    public HeardPeer? Last(string node)
    {
        lock (gate)
        {
            return heard.TryGetValue(node, out var entry) ? entry.Heard : null;
        }
    }

    /// <summary>Everyone heard since <paramref name="since"/>.</summary>
    public IReadOnlyList<(string Node, HeardPeer Heard)> HeardSince(DateTimeOffset since)
    {
        lock (gate)
        {
            return [.. heard.Where(h => h.Value.Heard.At >= since).Select(h => (h.Key, h.Value.Heard))];
        }
    }

    /// <summary>Receives until cancelled.</summary>
    public async Task ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[Heartbeat.MaxLength + 1];
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await transport.ReceiveAsync(buffer, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            Accept(buffer.AsSpan(0, length));
        }
    }

    /// <summary>Takes one datagram: counted, and remembered when it is a valid, new heartbeat of a peer.</summary>
    public void Accept(ReadOnlySpan<byte> packet)
    {
        var heartbeat = Heartbeat.Decode(packet, key, out var why);
        var now = clock.GetUtcNow();
        if (heartbeat is null)
        {
            Refuse(why!.StartsWith("not signed", StringComparison.Ordinal) ? "signature" : "malformed", why);
            return;
        }
        if (heartbeat.Node == nodeName)
        {
            Refuse("self", $"it claims to come from this node ({nodeName})");
            return;
        }
        if (Math.Abs(heartbeat.SentAtMilliseconds - now.ToUnixTimeMilliseconds()) > MaxClockSkew.TotalMilliseconds)
        {
            Refuse("replay", $"its sender's clock ({DateTimeOffset.FromUnixTimeMilliseconds(heartbeat.SentAtMilliseconds):O}) is more than {MaxClockSkew.TotalSeconds} s from ours");
            return;
        }
        long lost;
        lock (gate)
        {
            var known = heard.TryGetValue(heartbeat.Node, out var last);
            if (known && heartbeat.SentAtMilliseconds <= last.SentAt)
            {
                // A replay, or a heartbeat overtaken by a later one: its gap, if any, was counted once already.
                Refuse("replay", $"it is not newer than the last one from {heartbeat.Node}");
                return;
            }
            DateTimeOffset? renewingSince = heartbeat.State != PeerState.Renewing ? null
                : last.Heard.RenewingSince is { } since && last.Heard.State == PeerState.Renewing ? since : now;
            heard[heartbeat.Node] = (new HeardPeer(heartbeat.State, now, renewingSince), heartbeat.SentAtMilliseconds, heartbeat.Sequence);
            lost = known && last.Sequence is { } before && heartbeat.Sequence is { } after
                ? SequenceGap(before, after, heartbeat.SentAtMilliseconds - last.SentAt) : 0;
            var tally = tallies.GetValueOrDefault(heartbeat.Node);
            tallies[heartbeat.Node] = new PeerTally(tally.Received + 1, tally.Lost + lost);
            if (heartbeat.Sequence is null)
            {
                version1Peers.Add(heartbeat.Node);
            }
            else
            {
                version1Peers.Remove(heartbeat.Node);
            }
            if (heard.Count > 4 * Math.Max(peers.Count, 16))
            {
                // Nodes gone for good: keep what is remembered as large as the cluster.
                foreach (var old in heard.Where(h => now - h.Value.Heard.At > TimeSpan.FromMinutes(10)).Select(h => h.Key).ToList())
                {
                    heard.Remove(old);
                    tallies.Remove(old);
                    version1Peers.Remove(old);
                }
            }
        }
        NodeMetrics.PeerHeartbeats.WithLabels("accepted").Inc();
        // A label only for a peer known from its Lease: a name in a packet cannot grow the metrics.
        var label = peers.ContainsKey(heartbeat.Node) ? heartbeat.Node : "unknown";
        NodeMetrics.HeartbeatsReceived.WithLabels(label).Inc();
        if (lost > 0)
        {
            NodeMetrics.HeartbeatsLost.WithLabels(label).Inc(lost);
        }
    }

    private void Refuse(string reason, string why)
    {
        NodeMetrics.PeerHeartbeats.WithLabels(reason).Inc();
        if (!refusalReported)
        {
            // Once: anyone on the node network can send datagrams, and a log must not be theirs to fill.
            refusalReported = true;
            logger.LogWarning("refused a peer heartbeat: {Why} (further refusals are only counted, in ipvsoperator_node_peer_heartbeats_total)", why);
        }
    }

    public void Dispose() => transport.Dispose();
}
