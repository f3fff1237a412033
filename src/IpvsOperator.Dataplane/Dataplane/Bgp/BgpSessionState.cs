using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// One BGP session as the daemon reports it: its state (Established, Active, Connect, OpenSent,
/// OpenConfirm, Idle), the prefixes and updates sent, the BFD session's state (null without BFD) and
/// the last error, if the daemon knows one.
/// </summary>
public sealed record BgpSessionState(IPAddressValue Peer, string State, int PrefixesAdvertised, long UpdatesSent, string? Bfd, string? LastError)
{
    public const string Established = "Established";

    public bool IsEstablished => State == Established;
}
