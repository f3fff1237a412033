using IpvsOperator.Entities;

namespace IpvsOperator.Node.Announcement;

/// <summary>Layer 2 announcement: where, and the timings of the per-address election (one set of defaults for flags, agent and tests).</summary>
public sealed record Layer2Options
{
    /// <summary>The defaults, for flags and documentation.</summary>
    public static readonly Layer2Options Defaults = new();

    /// <summary>The interface to answer ARP/NDP on; null: the interface of the default route.</summary>
    public string? Interface { get; init; }

    /// <summary>Where the Leases live: the operator's namespace.</summary>
    public string Namespace { get; init; } = WellKnown.NodeNamespace;

    /// <summary>
    /// After this long without a renewal of a node's presence, others take its addresses: the
    /// takeover after a node's death is about this long. Shorter is possible by flag (1.5 s was
    /// measured, docs/benchmarks.md), at the price of more presence writes and of withdrawals when
    /// the API server is slow for a second; the default keeps a busy API server from causing those.
    /// </summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A node that could not renew for this long withdraws its addresses: before its lease expires.
    /// The lease duration less this is the margin for a holder late in withdrawing.
    /// </summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the presence is renewed (one API write per node) and the holders looked at: four tries per renew deadline.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The node's own address to exchange heartbeats with the other agents on (the DaemonSet gives
    /// its host IP); null: no heartbeats, and an API server outage withdraws every VIP.
    /// </summary>
    public System.Net.IPAddress? HeartbeatAddress { get; init; }

    /// <summary>
    /// The only node that announces (local mode): it has no peers to hear, and no --heartbeat-address
    /// flag to tell it one, so going without heartbeats is said at debug level, not warned about.
    /// </summary>
    public bool SingleNode { get; init; }

    /// <summary>UDP port of the heartbeats.</summary>
    public int HeartbeatPort { get; init; } = 7947;

    /// <summary>
    /// How long a node listens after asking the LAN (ARP probe, duplicate-address solicitation)
    /// whether another device answers for the addresses it is about to take; it takes none that is
    /// answered. Every take waits this long, so it adds to each takeover. Zero: no probe.
    /// </summary>
    public TimeSpan ProbeWindow { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How many times the announcement of a newly taken address is sent, a round apart (a single frame may be lost).</summary>
    public int Announcements { get; init; } = 3;

    /// <summary>
    /// The lifetime held addresses get on the interface (whole seconds, rounded up), refreshed while
    /// the node renews: an agent that dies while its node stays up stops answering for them when it
    /// runs out. The renew deadline, not the lease: the kernel removes an expired address up to a
    /// quarter second late, and a lifetime of the renew deadline then still ends before the lease.
    /// </summary>
    public TimeSpan AddressLifetime => RenewDeadline;

    /// <summary>The same checks as client-go's leader election: a renew deadline inside the lease, retries inside the deadline.</summary>
    public void Validate()
    {
        if (RenewDeadline >= LeaseDuration)
        {
            throw new ArgumentException($"--renew-deadline ({RenewDeadline.TotalSeconds} s) must be shorter than --lease-duration ({LeaseDuration.TotalSeconds} s): a holder withdraws before others take over");
        }
        if (ProbeWindow < TimeSpan.Zero || ProbeWindow >= RenewDeadline / 2)
        {
            throw new ArgumentException($"--probe-window ({ProbeWindow.TotalSeconds} s) must be at least 0 and shorter than half of --renew-deadline ({RenewDeadline.TotalSeconds} s): a round that probes must still renew in time");
        }
        if (RetryPeriod * 2 > RenewDeadline)
        {
            throw new ArgumentException($"--retry-period ({RetryPeriod.TotalSeconds} s) must be at most half of --renew-deadline ({RenewDeadline.TotalSeconds} s): a renewal gets a second try before the deadline");
        }
    }
}
