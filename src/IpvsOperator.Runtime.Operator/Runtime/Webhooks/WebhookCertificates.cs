using System.Security.Cryptography.X509Certificates;
using System.Text;
using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Webhooks;

/// <summary>
/// The controller's own webhook certificates, so that no cert-manager is needed, renewed while it
/// runs. A long-lived CA and a short-lived serving certificate for <c>service.namespace.svc</c> live
/// in one Secret shared by every replica. Every replica looks at it every
/// <see cref="WebhookCertificateOptions.CheckInterval"/>: it renews what is due (writes are
/// conditional, so one replica wins), keeps the ValidatingWebhookConfiguration's <c>caBundle</c> a
/// superset of the CAs still valid, and serves whatever serving certificate the Secret holds, swapped
/// in without a restart. The order makes a rotation invisible to the API server: a new CA enters the
/// caBundle before any certificate it signed is served, and an old CA leaves it only when it expires.
/// A Secret that cert-manager writes (annotated <c>cert-manager.io/...</c>) is only read and served.
/// </summary>
// Its own Secret in its own namespace, and its own webhook configuration: create cannot be limited by
// name, so the Secret's create is granted in the namespace only; nothing else can be read or changed.
[Rbac.EntityRbac(typeof(V1Secret), Verbs = Rbac.RbacVerb.Create, Namespaced = true)]
[Rbac.EntityRbac(typeof(V1Secret), Verbs = Rbac.RbacVerb.Get | Rbac.RbacVerb.Update, Namespaced = true, ResourceNames = [WebhookCertificateOptions.DefaultSecretName])]
[Rbac.EntityRbac(typeof(V1ValidatingWebhookConfiguration), Verbs = Rbac.RbacVerb.Get | Rbac.RbacVerb.Update, ResourceNames = [WebhookCertificateOptions.DefaultConfigurationName])]
public sealed class WebhookCertificates(IKubernetes kubernetes, WebhookCertificateOptions options, ILogger<WebhookCertificates> logger, TimeProvider? time = null)
{
    private const string CaCertificate = "ca.crt";
    private const string CaKey = "ca.key";
    private const string ServingCertificate = "tls.crt";
    private const string ServingKey = "tls.key";
    private readonly EntityClient<V1Secret> secrets = new(kubernetes);
    private readonly EntityClient<V1ValidatingWebhookConfiguration> configurations = new(kubernetes);
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private string? lastProblem;

    public IReadOnlyList<string> DnsNames =>
        [$"{options.ServiceName}.{options.Namespace}.svc", $"{options.ServiceName}.{options.Namespace}.svc.cluster.local"];

    /// <summary>Renewals made by this replica (CA, serving certificate).</summary>
    public int Renewals { get; private set; }

    /// <summary>The serving certificate to start with: from the Secret (made when missing, renewed when due), the caBundle in line.</summary>
    public async Task<ServedCertificate> EnsureAsync(CancellationToken cancellationToken) =>
        new(await CheckAsync(null, cancellationToken) ?? throw new InvalidOperationException($"Secret {options.Namespace}/{options.SecretName} holds no serving certificate"));

    /// <summary>Until cancelled: every check interval, renew what is due and serve what the Secret holds.</summary>
    public async Task RunAsync(ServedCertificate served, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.CheckInterval, clock, cancellationToken);
                await CheckAsync(served, cancellationToken);
                Report(null);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (error is ApiStatusException or HttpRequestException or TimeoutException or System.Security.Cryptography.CryptographicException)
            {
                Report(error.Message);
            }
        }
    }

    /// <summary>False when the certificate served now expires within <see cref="WebhookCertificateOptions.NotReadyWithin"/>: renewal is not working.</summary>
    public bool IsFresh(ServedCertificate served) => new DateTimeOffset(served.Current.NotAfter.ToUniversalTime()) - clock.GetUtcNow() > options.NotReadyWithin;

    private void Report(string? problem)
    {
        if (problem == lastProblem)
        {
            return;
        }
        if (problem is null)
        {
            logger.LogInformation("webhook certificates checked again");
        }
        else
        {
            logger.LogWarning("cannot check the webhook certificates: {Error}; trying again every {Interval}", problem, options.CheckInterval);
        }
        lastProblem = problem;
    }

    /// <summary>One look at the Secret: renew what is due, keep the caBundle in line, serve what the Secret holds. Returns the serving certificate.</summary>
    private async Task<X509Certificate2?> CheckAsync(ServedCertificate? served, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var secret = await secrets.GetAsync(options.Namespace, options.SecretName, cancellationToken);
            try
            {
                if (secret is null)
                {
                    secret = await secrets.CreateAsync(Fresh(), cancellationToken);
                    Renewals++;
                    logger.LogInformation("issued a webhook CA and serving certificate for {Names}", string.Join(", ", DnsNames));
                }
                else if (!External(secret) && await RenewedAsync(secret, cancellationToken) is { } renewed)
                {
                    secret = await secrets.ReplaceAsync(renewed, cancellationToken);
                    Renewals++;
                }
            }
            catch (ApiStatusException error) when ((error.IsAlreadyExists || error.IsConflict) && attempt < 3)
            {
                continue; // another replica wrote it first: look again
            }
            if (!External(secret))
            {
                await WidenCaBundleAsync(Bundle(secret), cancellationToken);
            }
            var serving = Serving(secret);
            if (served is not null && serving is not null && serving.Thumbprint != served.Current.Thumbprint)
            {
                served.Swap(serving);
                logger.LogInformation("serving the webhook certificate valid until {NotAfter:u}", serving.NotAfter.ToUniversalTime());
            }
            return serving;
        }
    }

    private static bool External(V1Secret secret) => secret.Metadata.Annotations?.Keys.Any(k => k.StartsWith("cert-manager.io/", StringComparison.Ordinal)) == true;

    /// <summary>The Secret with what is due renewed; null when nothing is.</summary>
    private async Task<V1Secret?> RenewedAsync(V1Secret secret, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var bundle = Bundle(secret);
        var authority = Authority(secret, bundle);
        if (authority is null || new DateTimeOffset(authority.Certificate.NotAfter.ToUniversalTime()) - now < options.CaRenewBefore)
        {
            // A new CA first, next to the old ones still valid; the serving certificate stays until
            // the new CA is in the caBundle (a later check issues one from it).
            using var next = CertificateAuthority.Create("ipvs-operator-webhook-ca", options.CaValidity);
            var keep = bundle.Where(c => c.NotAfter.ToUniversalTime() > now.UtcDateTime);
            secret.Data ??= new Dictionary<string, byte[]>();
            secret.Data[CaCertificate] = Pem([next.Certificate, .. keep]);
            secret.Data[CaKey] = Encoding.UTF8.GetBytes(next.KeyPem);
            if (Serving(secret) is null)
            {
                WriteServing(secret, next);
            }
            logger.LogInformation("renewed the webhook CA (valid until {NotAfter:u}); the previous one stays trusted until it expires", next.Certificate.NotAfter.ToUniversalTime());
            return secret;
        }
        var serving = Serving(secret);
        var due = serving is null || new DateTimeOffset(serving.NotAfter.ToUniversalTime()) - now < options.ServingRenewBefore || !SignedBy(serving, authority.Certificate);
        if (!due || !await TrustedAsync(authority.Certificate, cancellationToken))
        {
            return null;
        }
        WriteServing(secret, authority);
        logger.LogInformation("renewed the webhook serving certificate");
        return secret;
    }

    private void WriteServing(V1Secret secret, CertificateAuthority authority)
    {
        using var serving = authority.IssueServingCertificate(DnsNames, options.ServingValidity);
        secret.Data![ServingCertificate] = Encoding.UTF8.GetBytes(serving.ExportCertificatePem());
        secret.Data[ServingKey] = Encoding.UTF8.GetBytes(serving.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    private V1Secret Fresh()
    {
        using var authority = CertificateAuthority.Create("ipvs-operator-webhook-ca", options.CaValidity);
        var secret = new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = options.SecretName, NamespaceProperty = options.Namespace },
            Type = "kubernetes.io/tls",
            Data = new Dictionary<string, byte[]>
            {
                [CaCertificate] = Pem([authority.Certificate]),
                [CaKey] = Encoding.UTF8.GetBytes(authority.KeyPem),
            },
        };
        WriteServing(secret, authority);
        return secret;
    }

    /// <summary>Whether the API server already trusts <paramref name="ca"/>: a certificate it signed is issued only then.</summary>
    private async Task<bool> TrustedAsync(X509Certificate2 ca, CancellationToken cancellationToken)
    {
        var configuration = await configurations.GetAsync(null, options.ConfigurationName, cancellationToken);
        return configuration is null || configuration.Webhooks.All(w => Certificates(w.ClientConfig.CaBundle).Any(c => c.Thumbprint == ca.Thumbprint));
    }

    /// <summary>
    /// The caBundle of every webhook becomes the Secret's CAs plus those it had that are still valid:
    /// a replica with an older view of the Secret never takes out a CA that a newer one added.
    /// </summary>
    private async Task WidenCaBundleAsync(IReadOnlyList<X509Certificate2> cas, CancellationToken cancellationToken)
    {
        var configuration = await configurations.GetAsync(null, options.ConfigurationName, cancellationToken);
        if (configuration is null)
        {
            logger.LogWarning("ValidatingWebhookConfiguration {Name} does not exist; webhooks are not called until it is installed", options.ConfigurationName);
            return;
        }
        var now = clock.GetUtcNow().UtcDateTime;
        var changed = false;
        foreach (var webhook in configuration.Webhooks)
        {
            var existing = Certificates(webhook.ClientConfig.CaBundle);
            var wanted = cas.Concat(existing.Where(c => c.NotAfter.ToUniversalTime() > now)).DistinctBy(c => c.Thumbprint).ToList();
            if (wanted.Select(c => c.Thumbprint).ToHashSet().SetEquals(existing.Select(c => c.Thumbprint)))
            {
                continue;
            }
            webhook.ClientConfig.CaBundle = Pem(wanted);
            changed = true;
        }
        if (changed)
        {
            await configurations.ReplaceAsync(configuration, cancellationToken);
            logger.LogInformation("caBundle of {Name} now trusts {Count} CA(s)", options.ConfigurationName, cas.Count);
        }
    }

    private static IReadOnlyList<X509Certificate2> Bundle(V1Secret secret) =>
        secret.Data?.TryGetValue(CaCertificate, out var pem) == true ? Certificates(pem) : [];

    private static IReadOnlyList<X509Certificate2> Certificates(byte[]? pem)
    {
        if (pem is null || pem.Length == 0)
        {
            return [];
        }
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(Encoding.UTF8.GetString(pem));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return [];
        }
        return [.. collection];
    }

    /// <summary>The current CA with its key (the first of the bundle); null when the Secret has none, as an older version wrote it.</summary>
    private static CertificateAuthority? Authority(V1Secret secret, IReadOnlyList<X509Certificate2> bundle)
    {
        if (bundle.Count == 0 || secret.Data is null || !secret.Data.TryGetValue(CaKey, out var key))
        {
            return null;
        }
        try
        {
            return CertificateAuthority.FromPem(bundle[0].ExportCertificatePem(), Encoding.UTF8.GetString(key));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private static X509Certificate2? Serving(V1Secret secret)
    {
        if (secret.Data is null || !secret.Data.TryGetValue(ServingCertificate, out var certificate) || !secret.Data.TryGetValue(ServingKey, out var key))
        {
            return null;
        }
        try
        {
            return X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(certificate), Encoding.UTF8.GetString(key));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private static bool SignedBy(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        return chain.Build(certificate);
    }

    private static byte[] Pem(IEnumerable<X509Certificate2> certificates) =>
        Encoding.UTF8.GetBytes(string.Concat(certificates.Select(c => c.ExportCertificatePem() + "\n")));
}
