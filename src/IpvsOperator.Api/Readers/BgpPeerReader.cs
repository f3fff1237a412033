using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Text;
using k8s.Models;

namespace IpvsOperator.Readers;

/// <summary>
/// Reads a BGPPeer. Every problem is named with its field, its value and what would be valid: the
/// webhook refuses the object with them, and a node agent that meets one anyway (the webhook fails
/// open) leaves that peer out and says why in its IPVSNode.
/// </summary>
public static class BgpPeerReader
{
    public static (BgpPeerSettings? Peer, IReadOnlyList<string> Errors) Read(V1Alpha1BGPPeer peer)
    {
        var spec = peer.Spec ?? new BGPPeerSpec();
        var errors = new List<string>();
        if (!IPAddressValue.TryParse(spec.PeerAddress, out var address))
        {
            errors.Add($"spec.peerAddress '{spec.PeerAddress}' is not an IPv4 or IPv6 address");
        }
        var peerAsn = Asn("spec.peerASN", spec.PeerASN, errors);
        var localAsn = Asn("spec.localASN", spec.LocalASN, errors);
        IPAddressValue? source = null;
        if (!string.IsNullOrEmpty(spec.SourceAddress))
        {
            if (!IPAddressValue.TryParse(spec.SourceAddress, out var parsed))
            {
                errors.Add($"spec.sourceAddress '{spec.SourceAddress}' is not an IPv4 or IPv6 address");
            }
            else if (errors.Count == 0 && parsed.Family != address.Family)
            {
                errors.Add($"spec.sourceAddress {parsed} is not of the family of spec.peerAddress {address}");
            }
            source = parsed;
        }
        if (spec.Port is < 1 or > 65535)
        {
            errors.Add($"spec.port {spec.Port} is not 1 to 65535");
        }
        var hold = Seconds("spec.holdTime", spec.HoldTime, errors);
        var keepalive = Seconds("spec.keepaliveTime", spec.KeepaliveTime, errors);
        if (hold is { } h && h != 0 && h is < 3 or > 65535)
        {
            errors.Add($"spec.holdTime {spec.HoldTime} is neither 0s nor 3s to 65535s (RFC 4271)");
        }
        if (hold is > 0 && keepalive is { } k && k * 3 > hold)
        {
            // The API server fills in the default: a user who set only holdTime sees a value they never wrote.
            var defaulted = spec.KeepaliveTime == new BGPPeerSpec().KeepaliveTime ? ", the default when it is not set," : string.Empty;
            errors.Add($"spec.keepaliveTime {spec.KeepaliveTime}{defaulted} is more than a third of spec.holdTime {spec.HoldTime}: one lost keepalive would end the session; set keepaliveTime to at most {hold / 3}s");
        }
        if (spec.EbgpMultihop is < 1 or > 255)
        {
            errors.Add($"spec.ebgpMultihop {spec.EbgpMultihop} is not 1 to 255");
        }
        if (spec.PasswordSecret is { } secret && (!IsName(secret.Name) || string.IsNullOrEmpty(secret.Key) || secret.Key.Length > 253))
        {
            errors.Add($"spec.passwordSecret '{secret.Name}'/'{secret.Key}' does not name a Secret (a DNS subdomain name) and a key");
        }
        if (spec.Bfd is { } bfd && (bfd.TransmitIntervalMilliseconds is < 10 or > 60000 || bfd.ReceiveIntervalMilliseconds is < 10 or > 60000 || bfd.DetectMultiplier is < 2 or > 255))
        {
            errors.Add($"spec.bfd intervals {bfd.TransmitIntervalMilliseconds}/{bfd.ReceiveIntervalMilliseconds} ms and multiplier {bfd.DetectMultiplier} are not 10 to 60000 ms and 2 to 255");
        }
        if (errors.Count > 0)
        {
            return (null, errors);
        }
        return (new BgpPeerSettings(peer.Metadata.Name, address, peerAsn, localAsn, source, (ushort)spec.Port, (int)keepalive!.Value, (int)hold!.Value,
            spec.EbgpMultihop, spec.PasswordSecret is { } s ? (s.Name, string.IsNullOrEmpty(s.Key) ? "password" : s.Key) : null,
            spec.Bfd is { } b ? new BfdTimers(b.TransmitIntervalMilliseconds, b.ReceiveIntervalMilliseconds, b.DetectMultiplier) : null), errors);
    }

    /// <summary>Whether a BGPPeer's (or pool's) node selector picks a node with these labels; none picks every node.</summary>
    public static bool Selects(V1LabelSelector? selector, IDictionary<string, string>? labels) =>
        LabelSelectorReader.Read(selector)?.Matches((IReadOnlyDictionary<string, string>?)labels?.AsReadOnly() ?? new Dictionary<string, string>()) ?? true;

    private static uint Asn(string field, long value, List<string> errors)
    {
        if (value is < 1 or > BGPPeerSpec.MaxAsn)
        {
            errors.Add($"{field} {value} is not an AS number: 1 to {BGPPeerSpec.MaxAsn}");
            return 0;
        }
        return (uint)value;
    }

    private static long? Seconds(string field, string? text, List<string> errors)
    {
        if (!DurationText.TryParse(text, out var duration) || duration.Ticks % TimeSpan.TicksPerSecond != 0 || duration.TotalSeconds > 65535)
        {
            errors.Add($"{field} '{text}' is not whole seconds up to 65535s ({DurationText.Forms})");
            return null;
        }
        return (long)duration.TotalSeconds;
    }

    private static bool IsName(string name) =>
        name.Length is > 0 and <= 253 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
        && char.IsAsciiLetterOrDigit(name[0]) && char.IsAsciiLetterOrDigit(name[^1]);
}
