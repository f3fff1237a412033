using System.Buffers.Binary;
using System.Text;

namespace IpvsOperator.Dataplane.Netlink;

/// <summary>One attribute read from a message: its type (flags masked off) and value.</summary>
internal readonly record struct NlAttr(ushort Type, bool Nested, ReadOnlyMemory<byte> Value)
{
    public byte U8() => Value.Span[0];
    public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Value.Span);
    public ushort U16BigEndian() => BinaryPrimitives.ReadUInt16BigEndian(Value.Span);
    public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Value.Span);
    public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Value.Span);
    public string Text() => Encoding.ASCII.GetString(Value.Span).TrimEnd('\0');

    /// <summary>The attributes nested in this one.</summary>
    public Dictionary<ushort, NlAttr> Children() => AttributeReader.Read(Value);
}
