using k8s;
using System.Net;
using IpvsOperator.Node;

namespace IpvsOperator.Commands;

/// <summary>Everything the <c>node</c> verb is told.</summary>
public sealed record NodeHostOptions
{
    public string? Kubeconfig { get; init; }

    /// <summary>How to reach the API server, handed over in-process (local mode); when set, no kubeconfig is read.</summary>
    public KubernetesClientConfiguration? Connection { get; init; }
    public required NodeAgentOptions Agent { get; init; }
    public DataplaneKind Dataplane { get; init; } = DataplaneKind.Kernel;

    /// <summary>Where the host's /proc/sys is (a DaemonSet mounts the host's /proc/sys/net/ipv4 under /host/proc/sys).</summary>
    public string ProcSys { get; init; } = "/proc/sys";

    /// <summary>/metrics, /healthz, /readyz; 0 takes any free port (tests).</summary>
    public int MetricsPort { get; init; } = 8081;
    public IPAddress Bind { get; init; } = IPAddress.Any;

    /// <summary>Where FRR is, for BGP announcement on the kernel dataplane; null: an in-memory stand-in (local mode never drives this machine's FRR).</summary>
    public Dataplane.Bgp.FrrPaths? Frr { get; init; }

    /// <summary>How endpoints are health-checked; null: from this node over the network.</summary>
    public Dataplane.Probing.IProber? Prober { get; init; }
}
