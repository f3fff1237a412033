using System.Net;
using IpvsOperator.Controllers;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Ipvs;
using IpvsOperator.Dataplane.Neighbours;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Runtime.Hosting;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

public enum DataplaneKind
{
    /// <summary>Netlink (addresses), IPVS over generic netlink, nftables: a real node.</summary>
    Kernel,

    /// <summary>In-memory twins of the kernel: local mode and tests.</summary>
    Memory,
}

public sealed record NodeHostOptions
{
    public string? Kubeconfig { get; init; }
    public required NodeAgentOptions Agent { get; init; }
    public DataplaneKind Dataplane { get; init; } = DataplaneKind.Kernel;

    /// <summary>Where the host's /proc/sys is (a DaemonSet mounts the host's /proc/sys/net under /host/proc/sys).</summary>
    public string ProcSys { get; init; } = "/proc/sys";

    /// <summary>/metrics, /healthz, /readyz; 0 takes any free port (tests).</summary>
    public int MetricsPort { get; init; } = 8081;
    public IPAddress Bind { get; init; } = IPAddress.Any;
}

/// <summary>The <c>node</c> process: the agent on the chosen dataplane, with /metrics, /healthz and /readyz.</summary>
public sealed class NodeHost(NodeHostOptions options, ILoggerFactory loggers)
{
    public int MetricsPort { get; private set; }
    public NodeAgent? Agent { get; private set; }
    public NodeDataplane? Dataplane { get; private set; }

    public static NodeDataplane CreateDataplane(DataplaneKind kind, ILogger logger, string procSys = "/proc/sys")
    {
        if (kind != DataplaneKind.Kernel)
        {
            return InMemory();
        }
        var ipvs = IpvsNetlink.Open();
        try
        {
            return new NodeDataplane(ipvs, RouteNetlink.Open(), new NftablesSourceNat(logger, procSys: procSys), new PacketSocketAdvertiser(), new ProcSysctl(procSys));
        }
        catch
        {
            ipvs.Dispose(); // the process goes on (local mode, tests): do not leak the socket
            throw;
        }
    }

    /// <summary>The in-memory twins, with an uplink eth0 that the default route leaves by.</summary>
    public static NodeDataplane InMemory(TimeProvider? time = null)
    {
        var links = new InMemoryAddressManager(time);
        links.AddLink("eth0", "veth");
        links.DefaultRoute = "eth0";
        return new NodeDataplane(new InMemoryIpvs(), links, new InMemorySourceNat(), new InMemoryNeighbourAdvertiser(), new InMemorySysctl());
    }

    public async Task RunAsync(CancellationToken cancellationToken, TaskCompletionSource? started = null)
    {
        var logger = loggers.CreateLogger<NodeHost>();
        using var kubernetes = ControllerHost.Connect(options.Kubeconfig);
        var dataplane = CreateDataplane(options.Dataplane, logger, options.ProcSys);
        Dataplane = dataplane;
        try
        {
            var agent = new NodeAgent(kubernetes, dataplane, options.Agent, loggers);
            Agent = agent;
            var startedAt = DateTimeOffset.UtcNow;
            await using var health = await HealthServer.StartAsync(options.Bind, options.MetricsPort,
                // Alive while the sync loop turns: a loop stuck for three periods gets the pod restarted.
                healthz: () => DateTimeOffset.UtcNow - (agent.LastAttempt ?? startedAt) < 3 * options.Agent.SyncPeriod + TimeSpan.FromSeconds(30) ? "ok" : null,
                readyz: () => agent.IsReady ? "ok" : null,
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
