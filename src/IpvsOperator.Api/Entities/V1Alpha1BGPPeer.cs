using System.Text.Json.Serialization;
using IpvsOperator.Runtime.Entities;
using k8s.Models;

namespace IpvsOperator.Entities;

/// <summary>
/// A BGP router the node agents peer with (through the FRR beside each agent) to announce the VIPs
/// of pools that ask for BGP. Cluster-scoped; which nodes peer is chosen by <c>nodeSelector</c>. The
/// session each node has with it is in that node's IPVSNode status.
/// </summary>
[KubernetesEntity(Group = WellKnown.Group, ApiVersion = WellKnown.Version, Kind = KindName, PluralName = Plural)]
[EntityScope(EntityScope.Cluster)]
[KubernetesEntityShortNames("bgpp")]
[Description("A BGP router the node agents peer with to announce the VIPs of pools that ask for BGP. Each node's session with it is in that node's IPVSNode status.")]
[PrinterColumn("Address", ".spec.peerAddress", "string")]
[PrinterColumn("Peer ASN", ".spec.peerASN", "integer")]
[PrinterColumn("Local ASN", ".spec.localASN", "integer")]
[PrinterColumn("BFD Interval", ".spec.bfd.receiveIntervalMilliseconds", "integer", Description = "The BFD receive interval in milliseconds when BFD is on (empty: off); the router sees a node gone after about this times BFD Multiplier")]
[PrinterColumn("BFD Multiplier", ".spec.bfd.detectMultiplier", "integer", Priority = 1, Description = "BFD packets missed in a row before the session is down (empty: BFD off)")]
[PrinterColumn("Age", ".metadata.creationTimestamp", "date")]
public sealed class V1Alpha1BGPPeer : CustomKubernetesEntity<BGPPeerSpec>
{
    public const string KindName = "BGPPeer";
    public const string Plural = "bgppeers";
}

// The API server checks the times even when the webhook is down; a time written as hh:mm:ss (which
// the reader takes and CEL's duration() does not) is left to the webhook.
[ValidationRule("!has(self.holdTime) || !has(self.keepaliveTime) || !self.holdTime.matches(" + BGPPeerSpec.DurationPattern + ") || !self.keepaliveTime.matches(" + BGPPeerSpec.DurationPattern + ")"
    + " || duration(self.holdTime) == duration('0s') || duration(self.keepaliveTime).getSeconds() * 3 <= duration(self.holdTime).getSeconds()",
    Message = "spec.keepaliveTime is more than a third of spec.holdTime: one lost keepalive would end the session",
    // Worded as the webhook's BgpPeerReader words it, whichever refuses first.
    MessageExpression = "'spec.keepaliveTime ' + self.keepaliveTime + (self.keepaliveTime == '30s' ? ', the default when it is not set,' : '') + ' is more than a third of spec.holdTime ' + self.holdTime"
        + " + ': one lost keepalive would end the session; set keepaliveTime to at most ' + string(duration(self.holdTime).getSeconds() / 3) + 's'",
    FieldPath = ".keepaliveTime")]
public sealed class BGPPeerSpec
{
    /// <summary>The largest 4-octet AS number (RFC 6793).</summary>
    public const long MaxAsn = 4294967295;

    /// <summary>A duration CEL's duration() reads (and DurationText too): 90s, 1m30s, 500ms, as a CEL string literal.</summary>
    internal const string DurationPattern = "'^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$'";

    [JsonPropertyName("peerAddress")]
    [Required]
    [Length(MaxLength = 45)]
    [Description("The router's address (IPv4 or IPv6); a session of that family carries the VIPs of that family.")]
    public string PeerAddress { get; set; } = string.Empty;

    [JsonPropertyName("peerASN")]
    [Required]
    [RangeMinimum(1)]
    [RangeMaximum(MaxAsn)]
    [Description("The router's AS number, 1 to 4294967295. Equal to localASN for iBGP.")]
    public long PeerASN { get; set; }

    [JsonPropertyName("localASN")]
    [Required]
    [RangeMinimum(1)]
    [RangeMaximum(MaxAsn)]
    [Description("The AS number the nodes speak as. Every peer that selects a node must give it the same one.")]
    public long LocalASN { get; set; }

    [JsonPropertyName("sourceAddress")]
    [Length(MaxLength = 45)]
    [Description("The address the nodes speak from (update-source); empty: the one the route to the peer picks.")]
    public string? SourceAddress { get; set; }

    [JsonPropertyName("port")]
    [Default("179")]
    [RangeMinimum(1)]
    [RangeMaximum(65535)]
    [Description("The router's BGP port.")]
    public int Port { get; set; } = 179;

    [JsonPropertyName("holdTime")]
    [Default("\"90s\"")]
    [Length(MaxLength = 16)]
    [ValidationRule("!self.matches(" + DurationPattern + ") || duration(self) == duration('0s') || (duration(self) >= duration('3s') && duration(self) <= duration('65535s'))",
        Message = "spec.holdTime is neither 0s nor 3s to 65535s (RFC 4271)",
        MessageExpression = "'spec.holdTime ' + self + ' is neither 0s nor 3s to 65535s (RFC 4271)'")]
    [Description("How long without a message before the session is taken down: 0s (never) or 3s to 65535s.")]
    public string HoldTime { get; set; } = "90s";

    [JsonPropertyName("keepaliveTime")]
    [Default("\"30s\"")]
    [Length(MaxLength = 16)]
    [Description("How often keepalives are sent: at most a third of holdTime.")]
    public string KeepaliveTime { get; set; } = "30s";

    [JsonPropertyName("ebgpMultihop")]
    [RangeMinimum(1)]
    [RangeMaximum(255)]
    [Description("For an eBGP peer more than one hop away: the TTL of the session's packets. Empty: directly connected.")]
    public int? EbgpMultihop { get; set; }

    [JsonPropertyName("passwordSecret")]
    [Description("A TCP MD5 password (RFC 2385) for the session, from a Secret in the node agents' namespace (ipvs-operator-node).")]
    public SecretKeyReference? PasswordSecret { get; set; }

    [JsonPropertyName("bfd")]
    [Description("BFD on the session: the router learns within milliseconds that a node is gone, rather than after holdTime. Absent: off.")]
    public BfdProfileSpec? Bfd { get; set; }

    [JsonPropertyName("nodeSelector")]
    [Description("The nodes that peer with this router; empty: every node that runs an agent with BGP on.")]
    public V1LabelSelector? NodeSelector { get; set; }
}

public sealed class SecretKeyReference
{
    [JsonPropertyName("name")]
    [Required]
    [Length(MaxLength = 253)]
    [Description("The Secret's name, in the node agents' namespace.")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("key")]
    [Default("\"password\"")]
    [Length(MaxLength = 253)]
    [Description("The key whose value is the password.")]
    public string Key { get; set; } = "password";
}

public sealed class BfdProfileSpec
{
    [JsonPropertyName("transmitIntervalMilliseconds")]
    [Default("300")]
    [RangeMinimum(10)]
    [RangeMaximum(60000)]
    [Description("How often this side sends BFD packets.")]
    public int TransmitIntervalMilliseconds { get; set; } = 300;

    [JsonPropertyName("receiveIntervalMilliseconds")]
    [Default("300")]
    [RangeMinimum(10)]
    [RangeMaximum(60000)]
    [Description("How often this side wants to receive them.")]
    public int ReceiveIntervalMilliseconds { get; set; } = 300;

    [JsonPropertyName("detectMultiplier")]
    [Default("3")]
    [RangeMinimum(2)]
    [RangeMaximum(255)]
    [Description("Packets missed in a row before the session is down: the failover time is about this times the interval.")]
    public int DetectMultiplier { get; set; } = 3;
}
