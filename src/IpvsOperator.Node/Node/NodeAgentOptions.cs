using IpvsOperator.Entities;
using IpvsOperator.Node.Announcement;

namespace IpvsOperator.Node;

/// <summary>What the node agent is told.</summary>
public sealed record NodeAgentOptions
{
    /// <summary>The defaults, for flags and documentation (the node name is the caller's to give).</summary>
    public static readonly NodeAgentOptions Defaults = new() { NodeName = string.Empty };

    public required string NodeName { get; init; }
    public string BindInterface { get; init; } = WellKnown.BindInterface;
    public ForwardTarget ForwardTo { get; init; } = ForwardTarget.Endpoints;

    /// <summary>How long a terminating or removed endpoint keeps weight 0 before it is deleted.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The full re-sync that repairs drift (a rule deleted by hand, a restarted kernel module).</summary>
    public TimeSpan SyncPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Changes arriving within this time are applied in one sync.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The longest a health probe may run, whatever timeout its Service asks for: a probe holds one of
    /// the node's probe slots while it runs, and a Service's owner must not hold them long.
    /// </summary>
    public TimeSpan HealthCheckMaxTimeout { get; init; } = Health.HealthChecker.DefaultMaxProbeTimeout;

    /// <summary>
    /// Whether health checks probe loopback, link-local and this node's own addresses too (backends on
    /// the host network); by default such endpoints are forwarded to unchecked (<see cref="Health.ProbeScope"/>).
    /// </summary>
    public bool HealthCheckHostAddresses { get; init; }

    /// <summary>After this many syncs in a row fail as a whole, the agent reports not ready (until one completes).</summary>
    public int FailedSyncsUntilUnready { get; init; } = 3;

    /// <summary>Where the bound VIPs are recorded (null: only in memory).</summary>
    public string? StateFile { get; init; }

    /// <summary>
    /// Layer 2 announcement of the VIPs, one node per address (null: none; the VIPs reach the nodes
    /// some other way, such as routes from the network).
    /// </summary>
    public Layer2Options? Layer2 { get; init; }

    /// <summary>
    /// BGP announcement through the node's FRR: every VIP of a pool that asks for BGP, to the
    /// BGPPeers that select this node (null: none).
    /// </summary>
    public Bgp.BgpOptions? Bgp { get; init; }

    /// <summary>
    /// The IPVS connection sync daemons this node runs, master and backup, so that connections
    /// survive a layer 2 failover (null: off, and daemons found running are left alone).
    /// </summary>
    public ConnectionSyncOptions? ConnectionSync { get; init; }

    /// <summary>How the VIPs reach this node, as the IPVSNode says it: l2, bgp, l2,bgp or none.</summary>
    public string Announce => Layer2 is null && Bgp is null ? "none" : string.Join(',', new[] { Layer2 is null ? null : "l2", Bgp is null ? null : "bgp" }.OfType<string>());
}
