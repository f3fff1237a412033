using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace IpvsOperator.Runtime.Webhooks;

/// <summary>
/// A small certificate authority for webhook serving certificates, so that no cert-manager is
/// needed: the CA's certificate goes into a webhook configuration's <c>caBundle</c>, the serving
/// certificate into the webhook server.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    private CertificateAuthority(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>
    /// A new CA. Its subject carries a serial number of its own beside <paramref name="commonName"/>:
    /// after a renewal the old and the new CA are both trusted, and a client that looks an issuer up
    /// by name must not take one for the other.
    /// </summary>
    public static CertificateAuthority Create(string commonName, TimeSpan validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(commonName);
        subject.Add("2.5.4.5", Convert.ToHexString(RandomNumberGenerator.GetBytes(8)), System.Formats.Asn1.UniversalTagNumber.PrintableString);
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return new CertificateAuthority(request.CreateSelfSigned(now.AddMinutes(-5), now.Add(validity)));
    }

    /// <summary>Loads a CA from PEM (as stored in a Secret).</summary>
    public static CertificateAuthority FromPem(string certificatePem, string keyPem) =>
        new(X509Certificate2.CreateFromPem(certificatePem, keyPem));

    /// <summary>A serving certificate for the given DNS names and addresses, signed by this CA.</summary>
    public X509Certificate2 IssueServingCertificate(IEnumerable<string> dnsNames, TimeSpan validity, IEnumerable<System.Net.IPAddress>? addresses = null)
    {
        var names = dnsNames.ToList();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={names.FirstOrDefault() ?? "webhook"}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        names.ForEach(san.AddDnsName);
        foreach (var address in addresses ?? [])
        {
            san.AddIpAddress(address);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        // Which CA key signed it, and its own key's identifier: chain building picks the issuer by key, not by name alone.
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now.Add(validity) < Certificate.NotAfter ? now.Add(validity) : new DateTimeOffset(Certificate.NotAfter);
        var serial = RandomNumberGenerator.GetBytes(16);
        using var signed = request.Create(Certificate, now.AddMinutes(-5), notAfter, serial);
        return signed.CopyWithPrivateKey(key);
    }

    public string CertificatePem => Certificate.ExportCertificatePem();

    public string KeyPem => Certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem();

    /// <summary>The base64 PEM that goes into a webhook configuration's <c>caBundle</c>.</summary>
    public string CaBundle => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(CertificatePem));

    public void Dispose() => Certificate.Dispose();
}
