using IpvsOperator.Node;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Watching;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Commands;

/// <summary>The <c>node</c> process: the agent on the chosen dataplane, with /metrics, /healthz and /readyz.</summary>
public sealed class NodeHost(NodeHostOptions options, ILoggerFactory loggers)
{
    public int MetricsPort { get; private set; }
    public NodeAgent? Agent { get; private set; }
    public NodeDataplane? Dataplane { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken, TaskCompletionSource? started = null)
    {
        var logger = loggers.CreateLogger<NodeHost>();
        using var api = KubernetesConnection.ConnectApi(options.Connection, options.Kubeconfig, "ipvs-operator-node");
        var dataplane = NodeDataplaneFactory.Create(options.Dataplane, loggers, options.ProcSys, options.Frr);
        Dataplane = dataplane;
        try
        {
            var agent = new NodeAgent(api, dataplane, options.Agent, loggers, prober: options.Prober);
            Agent = agent;
            var startedAt = DateTimeOffset.UtcNow;
            await using var health = await HealthServer.StartAsync(options.Bind, options.MetricsPort,
                // Alive while the sync loop turns: a loop stuck for three periods gets the pod restarted.
                healthz: () => DateTimeOffset.UtcNow - (agent.LastAttempt ?? startedAt) < 3 * options.Agent.SyncPeriod + TimeSpan.FromSeconds(30) ? "ok" : null,
                readyz: () => agent.IsReady ? "ok" : null,
                [NodeMetrics.Registry, WatchMetrics.Registry],
                cancellationToken);
            MetricsPort = health.Port;
            started?.TrySetResult();
            await agent.RunAsync(cancellationToken);
        }
        finally
        {
            (dataplane.Ipvs as IDisposable)?.Dispose();
            (dataplane.Links as IDisposable)?.Dispose();
            (dataplane.Advertiser as IDisposable)?.Dispose();
        }
    }
}
