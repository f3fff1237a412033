using IpvsOperator.Dataplane.Heartbeats;
using System.Net;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Announcement;

/// <summary>What was last heard from one peer, on this node's clock.</summary>
/// <param name="RenewingSince">Since when it has said <see cref="PeerState.Renewing"/> without a break (null: it does not).</param>
internal readonly record struct HeardPeer(PeerState State, DateTimeOffset At, DateTimeOffset? RenewingSince);

/// <summary>
/// Heartbeats between node agents, directly over the node network: a second source of liveness
/// beside the Leases, for when the API server cannot be reached. Each agent sends its state to
/// every peer whose presence Lease gives a heartbeat endpoint; a heartbeat counts only when signed
/// with the key the agents share and newer than the last one from its sender (a replay is refused).
/// </summary>
internal sealed class PeerHeartbeats(string nodeName, byte[] key, IHeartbeatTransport transport, ILogger logger, TimeProvider? time = null) : IDisposable
{
    /// <summary>A heartbeat whose sender's clock is further than this from ours is refused: old packets replayed to an agent that restarted.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromSeconds(30);

    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly Lock gate = new();
    private readonly Dictionary<string, (HeardPeer Heard, long SentAt)> heard = new(StringComparer.Ordinal);
    private volatile IReadOnlyDictionary<string, IPEndPoint> peers = new Dictionary<string, IPEndPoint>();
    private long lastSentAt;
    private bool refusalReported;

    /// <summary>Where peers send to; written on this node's presence Lease.</summary>
    public IPEndPoint Endpoint => transport.LocalEndPoint;

    /// <summary>The peers to send to, by node name (from their presence Leases).</summary>
    public void SetPeers(IReadOnlyDictionary<string, IPEndPoint> endpoints) => peers = endpoints;

    /// <summary>Sends <paramref name="state"/> to every peer.</summary>
    public void Send(PeerState state)
    {
        // Strictly increasing even if the clock steps back: the receivers refuse anything not newer.
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var sentAt = lastSentAt = Math.Max(now, lastSentAt + 1);
        var packet = new Heartbeat(nodeName, state, sentAt).Encode(key);
        foreach (var (peer, endpoint) in peers)
        {
            if (peer != nodeName)
            {
                transport.Send(packet, endpoint);
            }
        }
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
        lock (gate)
        {
            if (heard.TryGetValue(heartbeat.Node, out var last))
            {
                if (heartbeat.SentAtMilliseconds <= last.SentAt)
                {
                    Refuse("replay", $"it is not newer than the last one from {heartbeat.Node}");
                    return;
                }
            }
            DateTimeOffset? renewingSince = heartbeat.State != PeerState.Renewing ? null
                : last.Heard.RenewingSince is { } since && last.Heard.State == PeerState.Renewing ? since : now;
            heard[heartbeat.Node] = (new HeardPeer(heartbeat.State, now, renewingSince), heartbeat.SentAtMilliseconds);
            if (heard.Count > 4 * Math.Max(peers.Count, 16))
            {
                // Nodes gone for good: keep what is remembered as large as the cluster.
                foreach (var old in heard.Where(h => now - h.Value.Heard.At > TimeSpan.FromMinutes(10)).Select(h => h.Key).ToList())
                {
                    heard.Remove(old);
                }
            }
        }
        NodeMetrics.PeerHeartbeats.WithLabels("accepted").Inc();
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
