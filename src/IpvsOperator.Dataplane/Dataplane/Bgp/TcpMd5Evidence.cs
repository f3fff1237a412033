using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// What the kernel's MD5 counters say of the sessions that are down. FRR names no password problem
/// (a wrong one showed as <c>Waiting for peer OPEN</c> or <c>Cease/Other Configuration Change</c>),
/// but the node's kernel counts the router's segments it drops. The counters are the node's, not a
/// session's, so only the two that the kernel counts for an address it holds a key for are used:
/// a segment signed with another key, or unsigned. Those can only come from a peer with a password,
/// and a rise is told to the sessions with a password that are down (saying so when there are
/// several), kept until that session is established or its settings change, so that the reason does
/// not come and go between the router's connection attempts. A signed segment where no key is set
/// (<c>TCPMD5Unexpected</c>) may come from any address (a router with a password for an address the
/// node has no session with), so it is not told to any session. No password is ever named.
/// </summary>
internal sealed class TcpMd5Evidence
{
    private readonly Dictionary<IPAddressValue, string> kept = [];
    private TcpMd5Counters? last;

    public const string Failure = "TCP MD5: the node's kernel drops the peer's segments, signed with another password than this BGPPeer's: check its password Secret against the router's password for this node";
    public const string NotFound = "TCP MD5: the peer's segments carry no signature and this BGPPeer sets a password: the router has no password for this node";

    /// <param name="sessions">The sessions as read now.</param>
    /// <param name="withPassword">The peers whose sessions FRR runs with a password.</param>
    /// <param name="now">The counters now; null when they cannot be read (nothing is then said).</param>
    public IReadOnlyList<BgpSessionState> Explain(IReadOnlyList<BgpSessionState> sessions, IReadOnlySet<IPAddressValue> withPassword, TcpMd5Counters? now)
    {
        var rise = now is { } current && last is { } before ? current.Since(before) : default;
        last = now ?? last;
        foreach (var gone in kept.Keys.Where(peer => sessions.All(s => s.Peer != peer || s.IsEstablished)).ToList())
        {
            kept.Remove(gone);
        }
        var suspects = sessions.Count(s => !s.IsEstablished && withPassword.Contains(s.Peer));
        var explained = new List<BgpSessionState>(sessions.Count);
        foreach (var session in sessions)
        {
            if (session.IsEstablished)
            {
                explained.Add(session);
                continue;
            }
            var seen = !withPassword.Contains(session.Peer) ? null
                : rise.Failure > 0 ? Failure
                : rise.NotFound > 0 ? NotFound
                : null;
            if (seen is not null)
            {
                kept[session.Peer] = suspects > 1 ? $"{seen} (or of another of the {suspects} sessions with a password that are down: the counters are the node's)" : seen;
            }
            explained.Add(kept.TryGetValue(session.Peer, out var evidence)
                ? session with { LastError = session.LastError is { } reported ? $"{evidence}; FRR reports {reported}" : evidence }
                : session);
        }
        return explained;
    }

    /// <summary>The peer's settings changed: the evidence was about the old ones.</summary>
    public void Forget(IPAddressValue peer) => kept.Remove(peer);
}
