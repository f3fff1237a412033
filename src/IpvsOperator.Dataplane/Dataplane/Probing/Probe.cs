using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Probing;

/// <summary>
/// One probe of one endpoint, all the prober needs to send it and judge the answer: tcp passes on a
/// connection; http and https send <c>GET Path</c> and pass on a status from ExpectedStatusFrom to
/// ExpectedStatusTo; no answer within Timeout fails either. How often and how many in a row count
/// is the caller's (the node's health checker), not the prober's.
/// </summary>
public sealed record Probe(
    ProbeProtocol Protocol,
    IPAddressValue Address,
    ushort Port,
    string Path,
    int ExpectedStatusFrom,
    int ExpectedStatusTo,
    TimeSpan Timeout)
{
    /// <summary>The endpoint as a URI's authority writes it (an IPv6 address in brackets).</summary>
    public override string ToString() => Address.Family == IPFamily.IPv6 ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}
