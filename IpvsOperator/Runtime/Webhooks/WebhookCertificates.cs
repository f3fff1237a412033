using System.Security.Cryptography.X509Certificates;
using System.Text;
using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Webhooks;

/// <summary>Where the webhook's certificate lives and whom it names.</summary>
public sealed record WebhookCertificateOptions
{
    /// <summary>The names the generated manifests and RBAC use (the Role names the Secret, the ClusterRole the configuration).</summary>
    public const string DefaultSecretName = "ipvs-operator-webhook-tls";
    public const string DefaultServiceName = "ipvs-operator-webhook-service";
    public const string DefaultConfigurationName = "ipvs-operator-validating-webhook";

    public required string Namespace { get; init; }
    public string SecretName { get; init; } = DefaultSecretName;
    public string ServiceName { get; init; } = DefaultServiceName;
    public string ConfigurationName { get; init; } = DefaultConfigurationName;

    /// <summary>A certificate with less than this left is renewed.</summary>
    public TimeSpan RenewBefore { get; init; } = TimeSpan.FromDays(30);

    public TimeSpan Validity { get; init; } = TimeSpan.FromDays(365);
}

/// <summary>
/// The controller's own webhook certificate, so that no cert-manager is needed: a CA and a
/// serving certificate for <c>service.namespace.svc</c> kept in a Secret (created when missing,
/// renewed before it expires, shared by every replica), and the CA patched into the
/// ValidatingWebhookConfiguration's <c>caBundle</c>.
/// </summary>
// Its own Secret in its own namespace, and its own webhook configuration: create cannot be limited by
// name, so the Secret's create is granted in the namespace only; nothing else can be read or changed.
[Rbac.EntityRbac(typeof(V1Secret), Verbs = Rbac.RbacVerb.Create, Namespaced = true)]
[Rbac.EntityRbac(typeof(V1Secret), Verbs = Rbac.RbacVerb.Get | Rbac.RbacVerb.Update, Namespaced = true, ResourceNames = [WebhookCertificateOptions.DefaultSecretName])]
[Rbac.EntityRbac(typeof(V1ValidatingWebhookConfiguration), Verbs = Rbac.RbacVerb.Get | Rbac.RbacVerb.Update, ResourceNames = [WebhookCertificateOptions.DefaultConfigurationName])]
public sealed class WebhookCertificates(IKubernetes kubernetes, WebhookCertificateOptions options, ILogger<WebhookCertificates> logger)
{
    private readonly EntityClient<V1Secret> secrets = new(kubernetes);
    private readonly EntityClient<V1ValidatingWebhookConfiguration> configurations = new(kubernetes);

    public IReadOnlyList<string> DnsNames =>
        [$"{options.ServiceName}.{options.Namespace}.svc", $"{options.ServiceName}.{options.Namespace}.svc.cluster.local"];

    /// <summary>The serving certificate, from the Secret or newly made; the caBundle patched in.</summary>
    public async Task<X509Certificate2> EnsureAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var secret = await secrets.GetAsync(options.Namespace, options.SecretName, cancellationToken);
            if (secret is not null && Load(secret) is { } loaded && loaded.Serving.NotAfter.ToUniversalTime() - DateTime.UtcNow > options.RenewBefore)
            {
                await PatchCaBundleAsync(loaded.CaPem, cancellationToken);
                return loaded.Serving;
            }
            using var authority = CertificateAuthority.Create("ipvs-operator-webhook-ca", options.Validity);
            var serving = authority.IssueServingCertificate(DnsNames, options.Validity);
            var data = new Dictionary<string, byte[]>
            {
                ["ca.crt"] = Encoding.UTF8.GetBytes(authority.CertificatePem),
                ["tls.crt"] = Encoding.UTF8.GetBytes(serving.ExportCertificatePem()),
                ["tls.key"] = Encoding.UTF8.GetBytes(serving.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem()),
            };
            try
            {
                if (secret is null)
                {
                    await secrets.CreateAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = options.SecretName, NamespaceProperty = options.Namespace }, Type = "kubernetes.io/tls", Data = data }, cancellationToken);
                }
                else
                {
                    secret.Data = data;
                    await secrets.ReplaceAsync(secret, cancellationToken);
                }
                logger.LogInformation("issued webhook certificate for {Names}, valid until {NotAfter}", string.Join(", ", DnsNames), serving.NotAfter);
            }
            catch (ApiStatusException error) when ((error.IsAlreadyExists || error.IsConflict) && attempt < 3)
            {
                // Another replica wrote it first: use theirs.
                continue;
            }
            await PatchCaBundleAsync(authority.CertificatePem, cancellationToken);
            return serving;
        }
    }

    private static (X509Certificate2 Serving, string CaPem)? Load(V1Secret secret)
    {
        if (secret.Data is null || !secret.Data.TryGetValue("tls.crt", out var certificate) || !secret.Data.TryGetValue("tls.key", out var key)
            || !secret.Data.TryGetValue("ca.crt", out var ca))
        {
            return null;
        }
        try
        {
            return (X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(certificate), Encoding.UTF8.GetString(key)), Encoding.UTF8.GetString(ca));
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private async Task PatchCaBundleAsync(string caPem, CancellationToken cancellationToken)
    {
        var configuration = await configurations.GetAsync(null, options.ConfigurationName, cancellationToken);
        if (configuration is null)
        {
            logger.LogWarning("ValidatingWebhookConfiguration {Name} does not exist; webhooks are not called until it is installed", options.ConfigurationName);
            return;
        }
        var bundle = Encoding.UTF8.GetBytes(caPem);
        if (configuration.Webhooks.All(w => w.ClientConfig.CaBundle is { } existing && existing.SequenceEqual(bundle)))
        {
            return;
        }
        foreach (var webhook in configuration.Webhooks)
        {
            webhook.ClientConfig.CaBundle = bundle;
        }
        await configurations.ReplaceAsync(configuration, cancellationToken);
    }
}
