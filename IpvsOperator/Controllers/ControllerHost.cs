using System.Net;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Webhooks;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Controllers;

/// <summary>Everything the <c>controller</c> verb is told.</summary>
public sealed record ControllerHostOptions
{
    public string? Kubeconfig { get; init; }
    public ControllerSettings Settings { get; init; } = new();
    public LeaderElectionOptions Election { get; init; } = new();
    public WebhookCertificateOptions Certificates { get; init; } = new();

    /// <summary>-1 serves no webhooks; 0 takes any free port (tests).</summary>
    public int WebhookPort { get; init; } = 9443;

    /// <summary>/metrics, /healthz, /readyz; 0 takes any free port (tests).</summary>
    public int MetricsPort { get; init; } = 8080;
    public IPAddress Bind { get; init; } = IPAddress.Any;
}

/// <summary>
/// The controller process: leader-elected reconcilers, the webhooks (served by every replica,
/// leader or not, with the certificate it manages), and /metrics, /healthz and /readyz.
/// </summary>
public sealed class ControllerHost(ControllerHostOptions options, ILoggerFactory loggers)
{
    public int WebhookPort { get; private set; }
    public int MetricsPort { get; private set; }
    public OperatorRuntime? Runtime { get; private set; }

    public static IKubernetes Connect(string? kubeconfig) => new Kubernetes(
        kubeconfig is not null ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
        : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
        : KubernetesClientConfiguration.BuildDefaultConfig());

    public async Task RunAsync(CancellationToken cancellationToken, TaskCompletionSource? started = null)
    {
        var logger = loggers.CreateLogger<ControllerHost>();
        using var kubernetes = Connect(options.Kubeconfig);
        var runtime = new OperatorRuntime(kubernetes, options.Election, loggers)
            .AddLoadBalancerControllers(kubernetes, options.Settings, loggers);
        Runtime = runtime;

        WebhookServer? webhooks = null;
        if (options.WebhookPort >= 0)
        {
            var certificate = await new WebhookCertificates(kubernetes, options.Certificates, loggers.CreateLogger<WebhookCertificates>()).EnsureAsync(cancellationToken);
            var pools = new EntityClient<V1Alpha1IPPool>(kubernetes);
            webhooks = await WebhookServer.StartAsync(certificate,
                [new PoolValidator(pools, new EntityClient<V1Alpha1IPAllocation>(kubernetes)), new AllocationValidator(pools), new ServiceValidator(pools, options.Settings)],
                options.Bind, options.WebhookPort, logger, cancellationToken);
            WebhookPort = webhooks.Port;
            logger.LogInformation("serving webhooks on port {Port} as {Names}", WebhookPort, $"{options.Certificates.ServiceName}.{options.Certificates.Namespace}.svc");
        }

        // Ready: a leader has listed everything; a standby is ready to take over (and serves webhooks).
        await using var health = await HealthServer.StartAsync(options.Bind, options.MetricsPort,
            healthz: () => "ok",
            readyz: () => !options.Election.Enabled || runtime.IsLeading ? (runtime.IsReady ? "ok" : null) : "standby",
            cancellationToken);
        MetricsPort = health.Port;
        started?.TrySetResult();
        try
        {
            await runtime.RunAsync(cancellationToken);
        }
        finally
        {
            if (webhooks is not null)
            {
                await webhooks.DisposeAsync();
            }
        }
    }
}
