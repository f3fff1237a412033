using IpvsOperator.Commands;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Commands;

/// <summary>The controller verb's host, end to end against LocalCluster through a kubeconfig.</summary>
public class ControllerHostTests : ControllerFixture
{
    [Test]
    public async Task The_controller_process_allocates_serves_health_metrics_and_webhooks()
    {
        const string ns = "ipvs-operator-system";
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        var configuration = KubernetesYaml.Deserialize<V1ValidatingWebhookConfiguration>(
            await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "config", "webhook", "manifests.yaml")));
        configuration.Webhooks.ToList().ForEach(w => w.ClientConfig.Service.NamespaceProperty = ns);
        await Client.AdmissionregistrationV1.CreateValidatingWebhookConfigurationAsync(configuration);
        var directory = Directory.CreateTempSubdirectory("controller-host-");
        var host = new ControllerHost(new ControllerHostOptions
        {
            Kubeconfig = Server.WriteKubeconfig(Path.Combine(directory.FullName, "kubeconfig")),
            Election = new LeaderElectionOptions { Namespace = ns, LeaseDuration = TimeSpan.FromSeconds(3), RenewDeadline = TimeSpan.FromSeconds(2), RetryPeriod = TimeSpan.FromMilliseconds(200) },
            Certificates = new WebhookCertificateOptions { Namespace = ns },
            WebhookPort = 0,
            MetricsPort = 0,
            Bind = System.Net.IPAddress.Loopback,
        }, NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        var running = Task.Run(() => host.RunAsync(stop.Token, started));
        await Task.WhenAny(started.Task, running).WaitAsync(TimeSpan.FromSeconds(30));
        if (running.IsFaulted)
        {
            await running; // the host's own error, not a timeout
        }
        Server.Admission.MapService(ns, "ipvs-operator-webhook-service", "127.0.0.1", host.WebhookPort);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.MetricsPort}") };

        (await http.GetStringAsync("/healthz")).Should().Be("ok");
        await Eventually.TrueAsync(async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode && host.Runtime!.IsLeading, "the controller leads and is ready");
        await CreatePoolAsync("host-pool", "198.19.0.0/30");
        var app = await NewNamespaceAsync();
        await CreateServiceAsync(app, "web", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "host-pool" });
        (await WaitForAddressAsync(app, "web")).Should().Be("198.19.0.0");
        await Eventually.TrueAsync(async () => (await http.GetStringAsync("/metrics")).Contains("ipvsoperator_pool_addresses{pool=\"host-pool\",family=\"IPv4\",state=\"in_use\"} 1", StringComparison.Ordinal),
            "the pool metric shows the allocation");
        var metrics = await http.GetStringAsync("/metrics");
        metrics.Should().Contain("ipvsoperator_reconcile_duration_seconds").And.Contain("ipvsoperator_leader 1");

        var refused = await ApiErrors.Of(() => CreatePoolAsync("host-bad", "198.19.0.2-198.19.0.1"));
        refused.Message.Should().Contain("write it as 198.19.0.1-198.19.0.2");

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        directory.Delete(recursive: true);
    }
}
