using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Webhooks;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Commands;

/// <summary>
/// The controller process: leader-elected reconcilers, the webhooks (served by every replica,
/// leader or not, with the certificate it manages), and /metrics, /healthz and /readyz.
/// </summary>
public sealed class ControllerHost(ControllerHostOptions options, ILoggerFactory loggers)
{
    public int WebhookPort { get; private set; }
    public int MetricsPort { get; private set; }
    public OperatorRuntime? Runtime { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken, TaskCompletionSource? started = null)
    {
        var logger = loggers.CreateLogger<ControllerHost>();
        using var kubernetes = KubernetesConnection.Connect(options.Connection, options.Kubeconfig);
        var runtime = new OperatorRuntime(kubernetes, options.Election, loggers)
            .AddLoadBalancerControllers(kubernetes, options.Settings, loggers);
        Runtime = runtime;

        WebhookServer? webhooks = null;
        if (options.WebhookPort >= 0)
        {
            var certificate = await new WebhookCertificates(kubernetes, options.Certificates, loggers.CreateLogger<WebhookCertificates>()).EnsureAsync(cancellationToken);
            var pools = new EntityClient<V1Alpha1IPPool>(kubernetes);
            webhooks = await WebhookServer.StartAsync(certificate,
                [new PoolValidator(pools, new EntityClient<V1Alpha1IPAllocation>(kubernetes), new EntityClient<V1Service>(kubernetes), new EntityClient<V1Namespace>(kubernetes)), new AllocationValidator(pools), new ServiceValidator(pools, options.Settings.DefaultClass)],
                options.Bind, options.WebhookPort, logger, cancellationToken);
            WebhookPort = webhooks.Port;
            logger.LogInformation("serving webhooks on port {Port} as {Names}", WebhookPort, $"{options.Certificates.ServiceName}.{options.Certificates.Namespace}.svc");
        }

        // Ready: a leader has listed everything; a standby is ready to take over (and serves webhooks).
        await using var health = await HealthServer.StartAsync(options.Bind, options.MetricsPort,
            healthz: () => "ok",
            readyz: () => !options.Election.Enabled || runtime.IsLeading ? (runtime.IsReady ? "ok" : null) : "standby",
            [RuntimeMetrics.Registry, ControllerMetrics.Registry],
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
