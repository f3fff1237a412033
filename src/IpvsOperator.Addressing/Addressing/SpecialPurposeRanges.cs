namespace IpvsOperator.Addressing;

/// <summary>
/// Addresses that can never be a load balancer's VIP: the unspecified address, loopback,
/// link-local, multicast, the limited broadcast address and IPv4-mapped IPv6 (the same address
/// as an IPv4 one, so it would escape the overlap checks between pools of the two families).
/// </summary>
public static class SpecialPurposeRanges
{
    private static readonly (string Text, string Kind)[] Known =
    [
        ("0.0.0.0/8", "unspecified ('this network')"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255", "the limited broadcast address"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped (write the IPv4 address in an IPv4 range instead)"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
    ];

    private static readonly (AddressRange Range, string Text, string Kind)[] Ranges = [.. Known.Select(k => (AddressRange.Parse(k.Text), k.Text, k.Kind))];

    /// <summary>Null when no address of <paramref name="range"/> is special, else why it cannot be used.</summary>
    public static string? Refuses(AddressRange range, string? written = null) =>
        Ranges.FirstOrDefault(k => k.Range.Overlaps(range)) is { Text: not null } special
            ? $"'{written?.Trim() ?? range.ToString()}' includes {special.Text} ({special.Kind}): such addresses cannot be load-balancer VIPs"
            : null;
}
