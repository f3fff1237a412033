using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

/// <summary>What identifies a virtual service: address, protocol and port.</summary>
public readonly record struct VirtualServiceKey(IPAddressValue Address, IpvsProtocol Protocol, ushort Port)
{
    public override string ToString() => $"{Protocol} {(Address.Family == IPFamily.IPv6 ? $"[{Address}]" : Address.ToString())}:{Port}";
}
