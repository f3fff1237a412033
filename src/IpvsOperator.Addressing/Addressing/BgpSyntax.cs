using System.Globalization;

namespace IpvsOperator.Addressing;

/// <summary>
/// What may go into FRR's configuration from the API: communities, large communities and a session
/// password. Everything else is a number or an address. A value that fails here would otherwise
/// become a line of frr.conf (a newline in a password is a configuration of its own).
/// </summary>
public static class BgpSyntax
{
    /// <summary>Well-known communities (RFC 1997, 7999, 8326) by the names FRR takes.</summary>
    public static readonly IReadOnlyList<string> WellKnownCommunities = ["no-export", "no-advertise", "local-AS", "no-peer", "blackhole", "graceful-shutdown"];

    /// <summary>The longest password TCP MD5 (RFC 2385) keys take in Linux.</summary>
    public const int MaximumPasswordLength = 80;

    /// <summary><c>AA:NN</c> with both parts 0 to 65535, or a well-known name.</summary>
    public static bool IsCommunity(string text) =>
        WellKnownCommunities.Contains(text, StringComparer.Ordinal) || Parts(text, 2, ushort.MaxValue);

    /// <summary><c>A:B:C</c>, each part 0 to 4294967295 (RFC 8092).</summary>
    public static bool IsLargeCommunity(string text) => Parts(text, 3, uint.MaxValue);

    /// <summary>Printable ASCII without spaces, at most <see cref="MaximumPasswordLength"/> characters.</summary>
    public static bool IsPassword(string text) =>
        text.Length is > 0 and <= MaximumPasswordLength && text.All(c => c is > ' ' and <= '~');

    private static bool Parts(string text, int count, ulong maximum)
    {
        var parts = text.Split(':');
        return parts.Length == count && parts.All(p => p.Length is > 0 and <= 10
            && ulong.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= maximum && (p == "0" || p[0] != '0'));
    }
}
