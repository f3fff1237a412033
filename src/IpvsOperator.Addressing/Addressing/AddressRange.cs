using System.Globalization;
using System.Numerics;

namespace IpvsOperator.Addressing;

/// <summary>
/// An inclusive range of addresses of one family, written by users as a CIDR
/// (<c>192.0.2.0/28</c>, <c>2001:db8::/120</c>), a range (<c>192.0.2.10-192.0.2.20</c>) or a single address.
/// </summary>
public readonly record struct AddressRange(IPAddressValue First, IPAddressValue Last)
{
    public const string ValidForms =
        "a CIDR such as 192.0.2.0/28 or 2001:db8::/120, a range such as 192.0.2.10-192.0.2.20, or a single address";

    public IPFamily Family => First.Family;

    /// <summary>The number of addresses; a BigInteger because ::/0 holds 2^128 of them.</summary>
    public BigInteger Size => (BigInteger)(Last.Value - First.Value) + 1;

    public bool Contains(IPAddressValue address) => address.Family == Family && address >= First && address <= Last;

    public bool Overlaps(AddressRange other) => other.Family == Family && other.First <= Last && First <= other.Last;

    public static AddressRange Parse(string text) =>
        TryParse(text, out var range, out var error) ? range : throw new FormatException(error);

    public static bool TryParse(string? text, out AddressRange range, out string error)
    {
        range = default;
        var trimmed = text?.Trim() ?? string.Empty;
        if (trimmed.Length == 0)
        {
            error = $"an empty address entry is not valid; use {ValidForms}";
            return false;
        }
        if (trimmed.Contains('/', StringComparison.Ordinal))
        {
            return TryParseCidr(trimmed, out range, out error);
        }
        var dash = trimmed.IndexOf('-', StringComparison.Ordinal);
        if (dash >= 0)
        {
            return TryParseDashRange(trimmed, dash, out range, out error);
        }
        if (!IPAddressValue.TryParse(trimmed, out var single))
        {
            error = $"'{trimmed}' is not an IP address; use {ValidForms}";
            return false;
        }
        range = new AddressRange(single, single);
        error = string.Empty;
        return true;
    }

    private static bool TryParseCidr(string text, out AddressRange range, out string error)
    {
        range = default;
        var parts = text.Split('/');
        if (parts.Length != 2 || !IPAddressValue.TryParse(parts[0].Trim(), out var address))
        {
            error = $"'{text}' is not a valid CIDR; use {ValidForms}";
            return false;
        }
        var bits = IPAddressValue.BitLength(address.Family);
        if (!int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix) || prefix > bits)
        {
            error = $"'{text}' has prefix length '{parts[1]}'; an {address.Family} prefix length is 0 to {bits}";
            return false;
        }
        var hostMask = prefix == bits ? UInt128.Zero : IPAddressValue.MaxValue(address.Family) >> prefix;
        if ((address.Value & hostMask) != 0)
        {
            var network = address with { Value = address.Value & ~hostMask };
            error = $"'{text}' has host bits set; did you mean {network}/{prefix}?";
            return false;
        }
        range = new AddressRange(address, address with { Value = address.Value | hostMask });
        error = string.Empty;
        return true;
    }

    private static bool TryParseDashRange(string text, int dash, out AddressRange range, out string error)
    {
        range = default;
        var startText = text[..dash].Trim();
        var endText = text[(dash + 1)..].Trim();
        if (!IPAddressValue.TryParse(startText, out var first) || !IPAddressValue.TryParse(endText, out var last))
        {
            error = $"'{text}' is not a valid range; use {ValidForms}";
            return false;
        }
        if (first.Family != last.Family)
        {
            error = $"'{text}' mixes IPv4 and IPv6; a range's two ends must be of one family";
            return false;
        }
        if (first > last)
        {
            error = $"'{text}' starts after it ends; write it as {last}-{first}";
            return false;
        }
        range = new AddressRange(first, last);
        error = string.Empty;
        return true;
    }

    /// <summary>
    /// Null when every address in the entry is written canonically (decimal IPv4; IPv6 in lower
    /// case, shortest form), else the canonical entry to write: what kubectl shows is then what is served.
    /// </summary>
    public static string? CanonicalFormError(string text)
    {
        var trimmed = text.Trim();
        var separator = trimmed.Contains('/', StringComparison.Ordinal) ? '/' : '-';
        var parts = trimmed.Split(separator);
        var addresses = separator == '/' ? parts[..1] : parts;
        if (addresses.All(a => IPAddressValue.CanonicalFormError(a.Trim()) is null))
        {
            return null;
        }
        var canonical = string.Join(separator, parts.Select((p, i) => separator == '/' && i > 0 ? p.Trim() : IPAddressValue.Parse(p.Trim()).ToString()));
        return $"'{trimmed}' is not written canonically; write {canonical}";
    }

    /// <summary>
    /// The fewest CIDRs that hold exactly this range, in order: 192.0.2.0-192.0.2.17 is 192.0.2.0/28 and
    /// 192.0.2.16/31. A CIDR entry is itself; a single address is its /32 (/128).
    /// </summary>
    public IEnumerable<(IPAddressValue Network, int PrefixLength)> Cidrs()
    {
        var bits = IPAddressValue.BitLength(Family);
        var start = First.Value;
        while (true)
        {
            // The largest block aligned at start that ends within the range.
            var hostBits = start == UInt128.Zero ? bits : Math.Min(bits, (int)UInt128.TrailingZeroCount(start));
            while (hostBits > 0 && start + HostMask(hostBits) > Last.Value)
            {
                hostBits--;
            }
            yield return (new IPAddressValue(Family, start), bits - hostBits);
            var end = start + HostMask(hostBits);
            if (end >= Last.Value)
            {
                yield break;
            }
            start = end + 1;
        }
    }

    /// <summary>The host part of a prefix with this many host bits, all ones.</summary>
    private static UInt128 HostMask(int hostBits) => hostBits >= 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;

    public override string ToString() => First == Last ? First.ToString() : $"{First}-{Last}";
}
