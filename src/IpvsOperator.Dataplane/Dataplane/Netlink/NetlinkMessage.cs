using System.Buffers.Binary;

namespace IpvsOperator.Dataplane.Netlink;

/// <summary>A netlink message: the 16-byte header and its payload.</summary>
public sealed record NetlinkMessage(ushort Type, ushort Flags, uint Sequence, uint PortId, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Header, then payload, padded to 4 bytes; the length field counts header and payload.</summary>
    public byte[] Encode()
    {
        var length = NetlinkConstants.HeaderLength + Payload.Length;
        var bytes = new byte[NetlinkConstants.Align(length)];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), Type);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(6), Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), PortId);
        Payload.Span.CopyTo(bytes.AsSpan(NetlinkConstants.HeaderLength));
        return bytes;
    }

    /// <summary>Splits a received datagram into its messages (a dump sends several in one).</summary>
    public static List<NetlinkMessage> DecodeAll(ReadOnlyMemory<byte> datagram)
    {
        var messages = new List<NetlinkMessage>();
        var offset = 0;
        while (offset + NetlinkConstants.HeaderLength <= datagram.Length)
        {
            var span = datagram.Span[offset..];
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(span);
            if (length < NetlinkConstants.HeaderLength || offset + length > datagram.Length)
            {
                throw new FormatException($"netlink message at offset {offset} claims {length} bytes; {datagram.Length - offset} remain");
            }
            messages.Add(new NetlinkMessage(
                BinaryPrimitives.ReadUInt16LittleEndian(span[4..]),
                BinaryPrimitives.ReadUInt16LittleEndian(span[6..]),
                BinaryPrimitives.ReadUInt32LittleEndian(span[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(span[12..]),
                datagram.Slice(offset + NetlinkConstants.HeaderLength, length - NetlinkConstants.HeaderLength)));
            offset += NetlinkConstants.Align(length);
        }
        return messages;
    }

    /// <summary>For NLMSG_ERROR: the errno (0 is an ACK), negated back to positive.</summary>
    public int ErrorNumber => Type == NetlinkConstants.NlmsgError ? -BinaryPrimitives.ReadInt32LittleEndian(Payload.Span) : 0;
}

/// <summary>
/// The kernel refused a request: errno (positive, e.g. 17 EEXIST, 2 ENOENT, 3 ESRCH) and what was
/// asked, so that a log line says which request failed and why.
/// </summary>
public sealed class NetlinkException(int errorNumber, string request, string? hint = null)
    : Exception($"{request} failed: {Describe(errorNumber)}{(hint is null ? string.Empty : "; " + hint)}")
{
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EPERM = 1;
    public const int EOPNOTSUPP = 95;
    public const int EADDRNOTAVAIL = 99;

    public int ErrorNumber { get; } = errorNumber;
    public string Request { get; } = request;

    public bool AlreadyExists => ErrorNumber == EEXIST;
    public bool NotFound => ErrorNumber is ENOENT or ESRCH or ENODEV;

    /// <summary>An address to remove is not on the interface (gone already, e.g. its lifetime ran out).</summary>
    public bool AddressNotAvailable => ErrorNumber == EADDRNOTAVAIL;

    private static string Describe(int errno) => errno switch
    {
        EPERM => "operation not permitted (EPERM; needs CAP_NET_ADMIN)",
        ENOENT => "no such object (ENOENT)",
        ESRCH => "no such object (ESRCH)",
        EEXIST => "already exists (EEXIST)",
        ENODEV => "no such device (ENODEV)",
        EINVAL => "invalid argument (EINVAL)",
        EOPNOTSUPP => "not supported by this kernel (EOPNOTSUPP)",
        EADDRNOTAVAIL => "no such address (EADDRNOTAVAIL)",
        _ => $"errno {errno}",
    };
}
