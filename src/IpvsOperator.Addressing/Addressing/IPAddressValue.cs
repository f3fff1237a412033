using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IpvsOperator.Addressing;

/// <summary>
/// An IP address as a number, so that ranges, offsets and ordering are plain arithmetic.
/// IPv4 uses the low 32 bits.
/// </summary>
public readonly record struct IPAddressValue(IPFamily Family, UInt128 Value) : IComparable<IPAddressValue>
{
    public static UInt128 MaxValue(IPFamily family) => family == IPFamily.IPv4 ? uint.MaxValue : UInt128.MaxValue;

    public static int BitLength(IPFamily family) => family == IPFamily.IPv4 ? 32 : 128;

    /// <summary>
    /// True for IPv4 addresses ending in .0 or .255, which some old clients and routers treat as
    /// network or broadcast addresses even inside larger subnets (MetalLB's "buggy IPs").
    /// </summary>
    public bool IsBuggy => Family == IPFamily.IPv4 && ((byte)Value is 0 or 255);

    public static IPAddressValue Parse(string text) =>
        TryParse(text, out var value)
            ? value
            : throw new FormatException($"'{text}' is not an IP address; expected e.g. 192.0.2.10 or 2001:db8::10");

    /// <summary>
    /// Strictly: IPv4 as four decimal numbers 0-255 without leading zeros (no octal, hex, shortened
    /// or bracketed forms, which inet_aton would read as some other address: 010.0.0.1 is 8.0.0.1
    /// there), IPv6 as text without zone, brackets or port. Either case of hexadecimal is read;
    /// <see cref="CanonicalFormError"/> says whether the text is the canonical one.
    /// </summary>
    public static bool TryParse(string? text, out IPAddressValue value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        return text.Contains(':', StringComparison.Ordinal) ? TryParseIPv6(text, out value) : TryParseIPv4(text, out value);
    }

    /// <summary>Null when <paramref name="text"/> is an address written canonically, else what to write instead.</summary>
    public static string? CanonicalFormError(string text) =>
        TryParse(text, out var value) && value.ToString() != text
            ? $"'{text}' is {value} written in another form; write {value}"
            : null;

    private static bool TryParseIPv4(ReadOnlySpan<char> text, out IPAddressValue value)
    {
        value = default;
        uint number = 0;
        var octets = 0;
        foreach (var range in text.Split('.'))
        {
            var octet = text[range];
            if (octet.Length is 0 or > 3 || (octet.Length > 1 && octet[0] == '0') || octet.ContainsAnyExceptInRange('0', '9')
                || !int.TryParse(octet, NumberStyles.None, CultureInfo.InvariantCulture, out var part) || part > 255)
            {
                return false;
            }
            number = (number << 8) | (uint)part;
            octets++;
        }
        if (octets != 4)
        {
            return false;
        }
        value = new IPAddressValue(IPFamily.IPv4, number);
        return true;
    }

    private static bool TryParseIPv6(string text, out IPAddressValue value)
    {
        value = default;
        // Zones (fe80::1%eth0), brackets and ports ([2001:db8::1]:80) name more than an address.
        if (text.AsSpan().IndexOfAny("%[]/ ") >= 0)
        {
            return false;
        }
        // An embedded IPv4 part (::ffff:192.0.2.1) is held to the IPv4 rules too.
        var lastColon = text.LastIndexOf(':');
        if (text.Contains('.', StringComparison.Ordinal) && !TryParseIPv4(text.AsSpan(lastColon + 1), out _))
        {
            return false;
        }
        if (!IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }
        value = FromIPAddress(address);
        return true;
    }

    public static IPAddressValue FromIPAddress(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        UInt128 number = 0;
        for (var i = 0; i < written; i++)
        {
            number = (number << 8) | bytes[i];
        }
        var family = address.AddressFamily == AddressFamily.InterNetwork ? IPFamily.IPv4 : IPFamily.IPv6;
        return new IPAddressValue(family, number);
    }

    public IPAddress ToIPAddress()
    {
        var length = Family == IPFamily.IPv4 ? 4 : 16;
        var bytes = new byte[length];
        var number = Value;
        for (var i = length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)number;
            number >>= 8;
        }
        return new IPAddress(bytes);
    }

    public IPAddressValue Add(UInt128 offset) => this with { Value = Value + offset };

    public int CompareTo(IPAddressValue other) =>
        Family != other.Family ? Family.CompareTo(other.Family) : Value.CompareTo(other.Value);

    public static bool operator <(IPAddressValue left, IPAddressValue right) => left.CompareTo(right) < 0;
    public static bool operator >(IPAddressValue left, IPAddressValue right) => left.CompareTo(right) > 0;
    public static bool operator <=(IPAddressValue left, IPAddressValue right) => left.CompareTo(right) <= 0;
    public static bool operator >=(IPAddressValue left, IPAddressValue right) => left.CompareTo(right) >= 0;

    /// <summary>
    /// Dotted quad for IPv4; for IPv6 the RFC 5952 form in hexadecimal groups only (never a
    /// trailing dotted quad, so the text maps cleanly onto object names).
    /// </summary>
    public override string ToString() => Family == IPFamily.IPv4 ? FormatIPv4(Value) : FormatIPv6(Value);

    private static string FormatIPv4(UInt128 value)
    {
        var v = (uint)value;
        return string.Create(CultureInfo.InvariantCulture, $"{v >> 24}.{(v >> 16) & 0xff}.{(v >> 8) & 0xff}.{v & 0xff}");
    }

    private static string FormatIPv6(UInt128 value)
    {
        Span<ushort> groups = stackalloc ushort[8];
        for (var i = 7; i >= 0; i--)
        {
            groups[i] = (ushort)value;
            value >>= 16;
        }
        // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on a tie.
        int bestStart = -1, bestLength = 1;
        for (var i = 0; i < 8;)
        {
            if (groups[i] != 0)
            {
                i++;
                continue;
            }
            var start = i;
            while (i < 8 && groups[i] == 0)
            {
                i++;
            }
            if (i - start > bestLength)
            {
                bestStart = start;
                bestLength = i - start;
            }
        }
        var text = new StringBuilder(39);
        for (var i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                text.Append("::");
                i += bestLength - 1;
                continue;
            }
            if (text.Length > 0 && text[^1] != ':')
            {
                text.Append(':');
            }
            text.Append(groups[i].ToString("x", CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
