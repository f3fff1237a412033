using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

/// <summary>
/// What identifies a virtual service: address, protocol and port. Ordered by address, then
/// protocol, then port, so that plans and listings come out in one stable order.
/// </summary>
public readonly record struct VirtualServiceKey(IPAddressValue Address, IpvsProtocol Protocol, ushort Port) : IComparable<VirtualServiceKey>
{
    public int CompareTo(VirtualServiceKey other)
    {
        var byAddress = Address.CompareTo(other.Address);
        if (byAddress != 0)
        {
            return byAddress;
        }
        var byProtocol = Protocol.CompareTo(other.Protocol);
        return byProtocol != 0 ? byProtocol : Port.CompareTo(other.Port);
    }

    public static bool operator <(VirtualServiceKey left, VirtualServiceKey right) => left.CompareTo(right) < 0;
    public static bool operator >(VirtualServiceKey left, VirtualServiceKey right) => left.CompareTo(right) > 0;
    public static bool operator <=(VirtualServiceKey left, VirtualServiceKey right) => left.CompareTo(right) <= 0;
    public static bool operator >=(VirtualServiceKey left, VirtualServiceKey right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Protocol} {(Address.Family == IPFamily.IPv6 ? $"[{Address}]" : Address.ToString())}:{Port}";
}
