using System.Security.Cryptography.X509Certificates;

namespace IpvsOperator.Runtime.Webhooks;

/// <summary>The certificate the webhook server presents now; swapped in place, so a renewal needs no restart.</summary>
public sealed class ServedCertificate(X509Certificate2 initial)
{
    private volatile X509Certificate2 current = initial;

    public X509Certificate2 Current => current;

    /// <summary>Serves <paramref name="next"/> from the next TLS handshake on; connections already open keep theirs.</summary>
    public void Swap(X509Certificate2 next) => current = next;
}
