namespace IpvsOperator.Addressing;

/// <summary>An IP address family. Names match Kubernetes' <c>spec.ipFamilies</c> values.</summary>
public enum IPFamily
{
    IPv4,
    IPv6,
}
