namespace IpvsOperator.Dataplane.Probing;

/// <summary>Why a probe failed, as the metrics and Events name it.</summary>
public enum ProbeFailure
{
    None,

    /// <summary>The connection was refused or reset: nothing listens.</summary>
    Refused,

    /// <summary>No answer within the check's timeout (a dead host, or a hung server).</summary>
    Timeout,

    /// <summary>An HTTP answer with a status outside the expected ones.</summary>
    Status,

    /// <summary>The TLS handshake of an https check failed.</summary>
    Tls,

    /// <summary>Anything else the network said (unreachable, a malformed answer).</summary>
    Error,
}
