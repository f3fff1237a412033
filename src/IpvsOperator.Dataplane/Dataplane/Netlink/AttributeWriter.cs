using System.Buffers.Binary;
using System.Text;

namespace IpvsOperator.Dataplane.Netlink;

/// <summary>
/// Writes netlink attributes (type-length-value, 4-byte aligned, nested ones flagged with
/// NLA_F_NESTED) into a growing buffer. Integers are host order unless said otherwise: ports
/// travel in network order, as IPVS expects.
/// </summary>
internal sealed class AttributeWriter
{
    private readonly List<byte> buffer = [];
    private readonly Stack<int> nested = new();

    public int Length => buffer.Count;

    public AttributeWriter Bytes(ushort type, ReadOnlySpan<byte> value)
    {
        var length = NetlinkConstants.AttributeHeaderLength + value.Length;
        Span<byte> header = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[2..], type);
        buffer.AddRange(header);
        buffer.AddRange(value);
        Pad();
        return this;
    }

    public AttributeWriter U8(ushort type, byte value) => Bytes(type, [value]);

    public AttributeWriter U16(ushort type, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, value);
        return Bytes(type, bytes);
    }

    /// <summary>A 16-bit value in network byte order (ports).</summary>
    public AttributeWriter U16BigEndian(ushort type, ushort value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return Bytes(type, bytes);
    }

    public AttributeWriter U32(ushort type, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return Bytes(type, bytes);
    }

    /// <summary>A NUL-terminated string, as the kernel's NLA_NUL_STRING and NLA_STRING accept.</summary>
    public AttributeWriter Text(ushort type, string value) => Bytes(type, Encoding.ASCII.GetBytes(value + "\0"));

    public AttributeWriter BeginNested(ushort type)
    {
        nested.Push(buffer.Count);
        buffer.AddRange(new byte[4]);
        Span<byte> header = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)(type | NetlinkConstants.NlaFNested));
        buffer[^2] = header[0];
        buffer[^1] = header[1];
        return this;
    }

    public AttributeWriter EndNested()
    {
        var start = nested.Pop();
        var length = (ushort)(buffer.Count - start);
        buffer[start] = (byte)length;
        buffer[start + 1] = (byte)(length >> 8);
        return this;
    }

    public byte[] ToArray() => nested.Count == 0 ? [.. buffer] : throw new InvalidOperationException("a nested attribute was not ended");

    private void Pad()
    {
        while (buffer.Count % NetlinkConstants.Alignment != 0)
        {
            buffer.Add(0);
        }
    }
}
