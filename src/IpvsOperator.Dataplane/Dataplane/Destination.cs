using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

public sealed record Destination(IPAddressValue Address, ushort Port, uint Weight = 1, ForwardMethod Method = ForwardMethod.Masquerade, uint UpperThreshold = 0, uint LowerThreshold = 0)
{
    public override string ToString() => $"{(Address.Family == IPFamily.IPv6 ? $"[{Address}]" : Address.ToString())}:{Port}";
}
