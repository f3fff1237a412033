using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Webhooks;
using IpvsOperator.Runtime.Watching;
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
        using var kubernetes = KubernetesConnection.Connect(options.Connection, options.Kubeconfig, "ipvs-operator-controller");
        var runtime = new OperatorRuntime(kubernetes, options.Election, loggers)
            .AddLoadBalancerControllers(kubernetes, options.Settings, loggers);
        Runtime = runtime;

        WebhookServer? webhooks = null;
        WebhookCertificates? certificates = null;
        ServedCertificate? served = null;
        var rotating = Task.CompletedTask;
        if (options.WebhookPort >= 0)
        {
            certificates = new WebhookCertificates(kubernetes, options.Certificates, loggers.CreateLogger<WebhookCertificates>());
            served = await FirstCertificateAsync(certificates, logger, cancellationToken);
            rotating = Task.Run(() => certificates.RunAsync(served, cancellationToken), CancellationToken.None);
            var pools = new EntityClient<V1Alpha1IPPool>(kubernetes);
            webhooks = await WebhookServer.StartAsync(served,
                [new PoolValidator(pools, new EntityClient<V1Alpha1IPAllocation>(kubernetes), new EntityClient<V1Service>(kubernetes), new EntityClient<V1Namespace>(kubernetes)), new AllocationValidator(pools), new BgpPeerValidator(new EntityClient<V1Alpha1BGPPeer>(kubernetes), new EntityClient<V1Node>(kubernetes)), new ServiceValidator(pools, options.Settings.DefaultClass)],
                options.Bind, options.WebhookPort, logger, cancellationToken);
            WebhookPort = webhooks.Port;
            logger.LogInformation("serving webhooks on port {Port} as {Names}", WebhookPort, $"{options.Certificates.ServiceName}.{options.Certificates.Namespace}.svc");
        }

        // Ready: a leader has listed everything; a standby is ready to take over (and serves webhooks).
        // Neither while the certificate it serves is about to expire: renewal is failing.
        await using var health = await HealthServer.StartAsync(options.Bind, options.MetricsPort,
            healthz: () => "ok",
            readyz: () => served is not null && !certificates!.IsFresh(served) ? null
                : !options.Election.Enabled || runtime.IsLeading ? (runtime.IsReady ? "ok" : null) : "standby",
            [RuntimeMetrics.Registry, ControllerMetrics.Registry, WatchMetrics.Registry],
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
            await rotating;
        }
    }

    /// <summary>The certificate to start serving with, retried until the API server lets us have it (it may be starting too).</summary>
    private static async Task<ServedCertificate> FirstCertificateAsync(WebhookCertificates certificates, ILogger logger, CancellationToken cancellationToken)
    {
        string? said = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await certificates.EnsureAsync(cancellationToken);
            }
            catch (Exception error) when (error is ApiStatusException or HttpRequestException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                if (error.Message != said)
                {
                    logger.LogError("cannot get the webhook certificate: {Error}; retrying", error.Message);
                    said = error.Message;
                }
                await Task.Delay(IpvsOperator.Runtime.Resilience.Backoff.Watch.Delay(attempt), cancellationToken);
            }
        }
    }
}
