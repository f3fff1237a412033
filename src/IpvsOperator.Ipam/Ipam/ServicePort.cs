namespace IpvsOperator.Ipam;

public enum PortProtocol
{
    TCP,
    UDP,
    SCTP,
}

public readonly record struct ServicePort(PortProtocol Protocol, int Port)
{
    public override string ToString() => $"{Protocol}/{Port}";
}
