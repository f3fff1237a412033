using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// Why each session that is not established failed, as the daemon said it when it could. FRR 8.4
/// keeps one last reset reason per peer, and a BFD session going down overwrites the NOTIFICATION
/// that said why the BGP session failed: against BIRD with BFD, a wrong ASN showed
/// <c>OPEN Message Error/Bad Peer AS</c> for about 0.3 s, then <c>BFD down received</c> for good
/// (the router drops its BFD session when its BGP session fails). So a NOTIFICATION's reason is kept
/// until the session is established or its peer's configuration changes, and shown before what the
/// daemon reports since.
/// </summary>
internal sealed class SessionDownReasons
{
    private readonly Dictionary<IPAddressValue, string> notifications = [];
    private readonly Lock gate = new();

    /// <param name="read">The sessions as read now, each with the NOTIFICATION reason known now (null when none is): the daemon's last reset, or what it kept of the refused OPEN.</param>
    public IReadOnlyList<BgpSessionState> Explain(IReadOnlyList<(BgpSessionState Session, string? Notification)> read)
    {
        lock (gate)
        {
            foreach (var gone in notifications.Keys.Where(peer => read.All(r => r.Session.Peer != peer)).ToList())
            {
                notifications.Remove(gone);
            }
            var explained = new List<BgpSessionState>(read.Count);
            foreach (var (session, notification) in read)
            {
                if (session.IsEstablished)
                {
                    notifications.Remove(session.Peer);
                    explained.Add(session);
                }
                else if (notification is not null)
                {
                    notifications[session.Peer] = notification;
                    explained.Add(session with { LastError = Since(notification, session.LastError) });
                }
                else if (notifications.TryGetValue(session.Peer, out var kept))
                {
                    explained.Add(session with { LastError = Since(kept, session.LastError) });
                }
                else
                {
                    explained.Add(session);
                }
            }
            return explained;
        }
    }

    private static string Since(string notification, string? reportedNow) =>
        reportedNow is null || reportedNow == notification ? notification : $"{notification}; since then FRR reports {reportedNow}";

    /// <summary>The peer's configuration changed: what its session said before no longer explains it.</summary>
    public void Forget(IPAddressValue peer)
    {
        lock (gate)
        {
            notifications.Remove(peer);
        }
    }
}
