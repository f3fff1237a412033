using System.Buffers.Binary;
using System.Globalization;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// The OPEN that made FRR send its last NOTIFICATION, read back from the hex dump under
/// "Message received that caused BGP to send a NOTIFICATION" in <c>show bgp neighbors</c> (FRR puts it
/// in no JSON). FRR 8.4 keeps that dump after later resets, while its JSON reason does not last: with
/// BFD, a wrong ASN shows <c>Bad Peer AS</c> for about 0.3 s, twice, and then <c>BFD down received</c>
/// for good. The dump still names the AS the peer is configured with, which is what a user needs.
/// </summary>
internal static class RefusedOpen
{
    private const string Heading = "Message received that caused BGP to send a NOTIFICATION:";
    private const byte OpenType = 1;
    private const byte CapabilitiesParameter = 2;
    private const byte FourOctetAsCapability = 65;
    private const ushort AsTrans = 23456;

    /// <summary>
    /// The AS the peer's refused OPEN gives (its four-octet AS capability when the two-octet field
    /// holds AS_TRANS), or null when the text has no dump or the dumped message is not an OPEN.
    /// </summary>
    public static uint? PeerAs(string neighborText)
    {
        var start = neighborText.IndexOf(Heading, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }
        var message = new List<byte>();
        foreach (var line in neighborText[(start + Heading.Length)..].Split('\n').Skip(1))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0 || !words.All(IsHex))
            {
                break;
            }
            message.AddRange(words.SelectMany(word => Convert.FromHexString(word)));
        }
        return FromOpen([.. message]);
    }

    private static bool IsHex(string word) =>
        word.Length % 2 == 0 && word.Length <= 8 && uint.TryParse(word, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _);

    /// <summary>A BGP message: 16 bytes of marker, length, type; an OPEN then has version, AS, hold time, BGP identifier and its optional parameters (RFC 4271 4.2).</summary>
    private static uint? FromOpen(ReadOnlySpan<byte> message)
    {
        if (message.Length < 29 || message[18] != OpenType)
        {
            return null;
        }
        var twoOctetAs = BinaryPrimitives.ReadUInt16BigEndian(message[20..]);
        if (twoOctetAs != AsTrans)
        {
            return twoOctetAs;
        }
        var parameters = message[29..];
        parameters = parameters[..Math.Min(message[28], parameters.Length)];
        while (parameters.Length >= 2)
        {
            var (type, length) = (parameters[0], parameters[1]);
            var value = parameters[2..][..Math.Min(length, parameters.Length - 2)];
            while (type == CapabilitiesParameter && value.Length >= 2)
            {
                var (code, capabilityLength) = (value[0], value[1]);
                if (code == FourOctetAsCapability && capabilityLength == 4 && value.Length >= 6)
                {
                    return BinaryPrimitives.ReadUInt32BigEndian(value[2..]);
                }
                value = value[Math.Min(2 + capabilityLength, value.Length)..];
            }
            parameters = parameters[Math.Min(2 + length, parameters.Length)..];
        }
        return twoOctetAs;
    }
}
