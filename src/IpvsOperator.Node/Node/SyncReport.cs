namespace IpvsOperator.Node;

/// <summary>
/// What one sync did, for logs, tests and the benchmark: its time in all and in its phases (read
/// the kernel back, compute the desired state, apply the difference, the source NAT table).
/// </summary>
public sealed record SyncReport(SyncTrigger Trigger, TimeSpan Duration, int Writes, int Errors, int VirtualServices, int Destinations, Exception? Failure = null)
{
    /// <summary>
    /// The netfilter table (source NAT, the VIP port filter) could not be written; IPVS was.
    /// Services that need no source NAT are served; the node announces only their addresses.
    /// </summary>
    public Exception? NetfilterFailure { get; init; }

    /// <summary>Whether some Service here needs source NAT, so that a netfilter failure leaves it unserved.</summary>
    public bool NeedsSourceNat { get; init; }

    /// <summary>What keeps the node from serving everything: the sync's failure, or a netfilter failure that a Service depends on.</summary>
    public Exception? Outage => Failure ?? (NeedsSourceNat ? NetfilterFailure : null);

    /// <summary>
    /// What this node serves after the sync, for the announcers, the health checker and the
    /// Services' Events; null when the sync failed (what the last completed one found still stands).
    /// </summary>
    public ServedServices? Served { get; init; }

    /// <summary>
    /// Whether the sync covered everything (read the kernel back), or only the VIPs a change
    /// touched (<see cref="VipsSynced"/> of them), diffed against what the agent last applied.
    /// </summary>
    public bool Whole { get; init; } = true;

    /// <summary>The VIPs a sync of a change rebuilt (0 for a whole sync).</summary>
    public int VipsSynced { get; init; }

    public SyncPhases Phases { get; init; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
}
