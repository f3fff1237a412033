using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// What the kernel's MD5 counters say of the sessions that are down. FRR names no password problem
/// (a wrong one showed as <c>Waiting for peer OPEN</c> or <c>Cease/Other Configuration Change</c>),
/// but the node's kernel counts the router's segments it drops. The counters are the node's, not a
/// session's: a rise between two reads is told to every session down at the time whose password
/// setting it fits, and kept until that session is established or its settings change, so that the
/// reason does not come and go between the router's connection attempts. No password is ever named.
/// </summary>
internal sealed class TcpMd5Evidence
{
    private readonly Dictionary<IPAddressValue, string> kept = [];
    private TcpMd5Counters? last;

    public const string Failure = "TCP MD5: the node's kernel drops the peer's segments, signed with another password than this BGPPeer's: check its password Secret against the router's password for this node";
    public const string NotFound = "TCP MD5: the peer's segments carry no signature and this BGPPeer sets a password: the router has no password for this node";
    public const string Unexpected = "TCP MD5: the peer's segments are signed and this BGPPeer sets no password: give it the router's password for this node";

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
        var explained = new List<BgpSessionState>(sessions.Count);
        foreach (var session in sessions)
        {
            if (session.IsEstablished)
            {
                explained.Add(session);
                continue;
            }
            var signed = withPassword.Contains(session.Peer);
            var seen = signed && rise.Failure > 0 ? Failure
                : signed && rise.NotFound > 0 ? NotFound
                : !signed && rise.Unexpected > 0 ? Unexpected
                : null;
            if (seen is not null)
            {
                kept[session.Peer] = seen;
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
