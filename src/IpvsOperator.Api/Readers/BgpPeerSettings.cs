using IpvsOperator.Addressing;

namespace IpvsOperator.Readers;

/// <summary>BFD on a peer's sessions, as its BGPPeer asks.</summary>
public sealed record BfdTimers(int TransmitIntervalMs, int ReceiveIntervalMs, int DetectMultiplier);

/// <summary>
/// A BGPPeer as the node agents see it, checked: typed addresses, ASNs and times in range. The
/// password is named, not held: the agent reads it from the Secret when it configures the session.
/// </summary>
public sealed record BgpPeerSettings(
    string Name,
    IPAddressValue Address,
    uint PeerAsn,
    uint LocalAsn,
    IPAddressValue? Source,
    ushort Port,
    int KeepaliveSeconds,
    int HoldSeconds,
    int? EbgpMultihop,
    (string Name, string Key)? PasswordSecret,
    BfdTimers? Bfd);
