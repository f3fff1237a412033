namespace IpvsOperator.Dataplane;

public enum IpvsProtocol : ushort
{
    TCP = 6,
    UDP = 17,
    SCTP = 132,
}
