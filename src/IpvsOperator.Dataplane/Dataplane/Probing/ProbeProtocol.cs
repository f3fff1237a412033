namespace IpvsOperator.Dataplane.Probing;

/// <summary>How an endpoint is probed: a TCP connection, or a GET over HTTP or HTTPS.</summary>
public enum ProbeProtocol
{
    Tcp,
    Http,
    Https,
}
