using System.Net;
using IpvsOperator.Addressing;

namespace IpvsOperator.Node.Health;

/// <summary>
/// Which endpoint addresses this node's health checks may probe. Probes leave from the host's
/// network and their answers reach the Service's owner (as Events and conditions), so an address
/// that means the node itself or its link (loopback, link-local such as a cloud's metadata service at
/// 169.254.169.254, the unspecified address, this node's own addresses) is not probed unless the
/// operator allows it (<c>--health-check-host-addresses</c>, for hostNetwork backends): such an
/// endpoint is forwarded to unchecked, and its Service is told why.
/// </summary>
public sealed record ProbeScope(bool AllowHostAddresses, IReadOnlySet<IPAddressValue> NodeAddresses)
{
    /// <summary>Why <paramref name="address"/> is not probed; null when it may be.</summary>
    public string? Refusal(IPAddressValue address)
    {
        if (AllowHostAddresses)
        {
            return null;
        }
        var ip = address.ToIPAddress();
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }
        var bytes = ip.GetAddressBytes();
        return IPAddress.IsLoopback(ip) ? "a loopback address (this node itself)"
            : ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) ? "the unspecified address (this node itself)"
            : ip.IsIPv6LinkLocal || (bytes.Length == 4 && bytes[0] == 169 && bytes[1] == 254) ? "a link-local address (such as a cloud's metadata service)"
            : NodeAddresses.Contains(address) || (IPAddressValue.TryParse(ip.ToString(), out var unmapped) && NodeAddresses.Contains(unmapped)) ? "one of this node's own addresses"
            : null;
    }
}
