using System.Buffers.Binary;

namespace IpvsOperator.Dataplane.Netlink;

internal static class AttributeReader
{
    /// <summary>Reads a run of attributes; a truncated or malformed one is an error, not silently skipped.</summary>
    public static Dictionary<ushort, NlAttr> Read(ReadOnlyMemory<byte> data)
    {
        var attributes = new Dictionary<ushort, NlAttr>();
        var offset = 0;
        while (offset + NetlinkConstants.AttributeHeaderLength <= data.Length)
        {
            var span = data.Span[offset..];
            var length = BinaryPrimitives.ReadUInt16LittleEndian(span);
            var rawType = BinaryPrimitives.ReadUInt16LittleEndian(span[2..]);
            if (length < NetlinkConstants.AttributeHeaderLength || offset + length > data.Length)
            {
                throw new FormatException($"netlink attribute of type {rawType & NetlinkConstants.NlaTypeMask} at offset {offset} claims {length} bytes; {data.Length - offset} remain");
            }
            var type = (ushort)(rawType & NetlinkConstants.NlaTypeMask);
            attributes[type] = new NlAttr(type, (rawType & NetlinkConstants.NlaFNested) != 0,
                data.Slice(offset + NetlinkConstants.AttributeHeaderLength, length - NetlinkConstants.AttributeHeaderLength));
            offset += NetlinkConstants.Align(length);
        }
        return attributes;
    }
}
