using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Support;
using IpvsOperator.Webhooks;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Webhooks;

/// <summary>
/// Two controller replicas serving the fail-closed webhooks while their certificates rotate: the
/// serving certificate every few seconds and the CA once, with lifetimes cut from days to seconds.
/// LocalCluster sends every admission over a new TLS connection now and then, to either replica.
/// </summary>
[NonParallelizable]
public class CertificateRotationTests : ControllerFixture
{
    private const string OperatorNamespace = "ipvs-operator-system";

    private static TimeSpan Seconds(double seconds) => TimeSpan.FromSeconds(seconds * Eventually.Scale);

    [Test]
    public async Task Certificates_rotate_while_two_replicas_serve_and_no_admission_fails()
    {
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = OperatorNamespace } });
        var configuration = KubernetesYaml.Deserialize<V1ValidatingWebhookConfiguration>(
            await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "config", "webhook", "manifests.yaml")));
        foreach (var webhook in configuration.Webhooks)
        {
            webhook.ClientConfig.Service.NamespaceProperty = OperatorNamespace;
        }
        await Client.AdmissionregistrationV1.CreateValidatingWebhookConfigurationAsync(configuration);
        var options = new WebhookCertificateOptions
        {
            Namespace = OperatorNamespace,
            CaValidity = Seconds(30),
            CaRenewBefore = Seconds(20),
            ServingValidity = Seconds(10),
            ServingRenewBefore = Seconds(7),
            NotReadyWithin = Seconds(2),
            CheckInterval = TimeSpan.FromMilliseconds(300),
        };
        using var stop = new CancellationTokenSource();
        var replicas = new List<(WebhookCertificates Certificates, ServedCertificate Served, WebhookServer Server, Task Rotating)>();
        for (var i = 0; i < 2; i++)
        {
            var certificates = new WebhookCertificates(Client, options, NullLogger<WebhookCertificates>.Instance);
            var served = await certificates.EnsureAsync(CancellationToken.None);
            var server = await WebhookServer.StartAsync(served,
                [new PoolValidator(Pools, Allocations, new EntityClient<V1Service>(Client), new EntityClient<V1Namespace>(Client)), new AllocationValidator(Pools)],
                IPAddress.Loopback, 0, NullLogger.Instance, CancellationToken.None);
            replicas.Add((certificates, served, server, Task.Run(() => certificates.RunAsync(served, stop.Token))));
        }
        Server.Admission.MapService(OperatorNamespace, options.ServiceName, replicas.Select(r => ("127.0.0.1", r.Server.Port)));
        var servedBy = replicas.Select(_ => new ConcurrentDictionary<string, bool>()).ToList();
        var cas = new HashSet<string>();
        var failures = new List<string>();
        var unready = 0;
        var admissions = 0;
        try
        {
            // Long enough for the first CA to be replaced and the serving certificates to rotate several times.
            var until = DateTime.UtcNow + Seconds(16);
            for (var i = 0; DateTime.UtcNow < until; i++)
            {
                try
                {
                    admissions++;
                    await CreatePoolAsync($"rot-{i}", $"10.{i / 256 % 256}.{i % 256}.0/30"); // the pool webhook fails closed
                }
                catch (ApiStatusException error)
                {
                    failures.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {error.Message}");
                }
                for (var r = 0; r < replicas.Count; r++)
                {
                    servedBy[r][replicas[r].Served.Current.Thumbprint] = true;
                    unready += replicas[r].Certificates.IsFresh(replicas[r].Served) ? 0 : 1;
                }
                var secret = await Client.CoreV1.ReadNamespacedSecretAsync(options.SecretName, OperatorNamespace);
                var bundle = new X509Certificate2Collection();
                bundle.ImportFromPem(Encoding.UTF8.GetString(secret.Data["ca.crt"]));
                cas.Add(bundle[0].Thumbprint);
                await Task.Delay(100);
            }
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var replica in replicas)
            {
                await replica.Rotating;
                await replica.Server.DisposeAsync();
            }
        }

        TestContext.Out.WriteLine($"{admissions} admissions, {failures.Count} failed; {cas.Count} CAs in turn; serving certificates per replica: {string.Join(", ", servedBy.Select(s => s.Count))}");
        failures.Should().BeEmpty("every admission is answered by a replica the API server trusts, during every rotation");
        cas.Count.Should().BeGreaterThanOrEqualTo(2, "the CA was replaced");
        servedBy.Should().OnlyContain(seen => seen.Count >= 3, "each replica served several certificates in turn, without a restart");
        unready.Should().Be(0, "no replica ever served a certificate about to expire");
    }
}
