namespace IpvsOperator.Dataplane;

/// <summary>How IPVS hands a connection to a destination (IP_VS_CONN_F_*).</summary>
public enum ForwardMethod : uint
{
    Masquerade = 0,
    LocalNode = 1,
    Tunnel = 2,
    DirectRoute = 3,
}
