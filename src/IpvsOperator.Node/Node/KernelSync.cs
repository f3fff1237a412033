using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace IpvsOperator.Node;

/// <summary>
/// One sync of the node's kernel with a view of the cluster, as a sequence of named steps: ensure
/// the bind link, compute the desired state, read the kernel back, keep draining destinations,
/// apply the difference, write the source NAT. The node agent runs it on every change and every
/// sync period; the property tests drive it step by step.
/// </summary>
internal sealed class KernelSync
{
    private readonly NodeDataplane dataplane;
    private readonly NodeAgentOptions options;
    private readonly ILogger logger;
    private readonly BindLink bindLink;
    private readonly SyncApplier applier;
    private readonly DrainTracker drains;
    private readonly OwnedAddresses owned;
    private readonly IpvsSysctls sysctls;
    private readonly SloppySysctls sloppy;
    private readonly ConnectionSyncDaemons? connectionSync;
    private readonly ProgrammedState programmed = new();
    private volatile DesiredState lastDesired = DesiredState.Empty;

    public KernelSync(NodeDataplane dataplane, NodeAgentOptions options, TimeProvider clock, ILogger logger)
    {
        this.dataplane = dataplane;
        this.options = options;
        this.logger = logger;
        bindLink = new BindLink(dataplane.Links, options.BindInterface, logger);
        applier = new SyncApplier(dataplane.Ipvs, bindLink, logger);
        drains = new DrainTracker(options.DrainTimeout, clock);
        owned = new OwnedAddresses(options.StateFile, logger);
        sysctls = new IpvsSysctls(dataplane.Sysctl, logger);
        sloppy = new SloppySysctls(dataplane.Sysctl, logger);
        if (options.ConnectionSync is { } syncOptions)
        {
            connectionSync = new ConnectionSyncDaemons(
                dataplane.ConnectionSync ?? throw new ArgumentException("connection sync is on but the dataplane has no IPVS sync daemons", nameof(dataplane)), syncOptions, logger);
        }
    }

    /// <summary>The connection sync daemons as the last sync found them (null when connection sync is off).</summary>
    public ConnectionSyncDaemons? ConnectionSync => connectionSync;

    /// <summary>Per VIP with consistent virtual services, the digest of what their nodes' common choice depends on, as the last completed sync left it.</summary>
    public IReadOnlyDictionary<IPAddressValue, string> ChoiceDigests { get; private set; } = new Dictionary<IPAddressValue, string>();

    /// <summary>What the last completed sync made the kernel hold (draining destinations included).</summary>
    public DesiredState LastDesired => lastDesired;

    /// <summary>True once a sync has completed.</summary>
    public bool HasSynced { get; private set; }

    /// <summary>When the earliest drain ends, so that a sync can run then; null when nothing drains.</summary>
    public DateTimeOffset? NextDrainExpiry => drains.NextExpiry;

    /// <summary>Destinations at weight 0, waiting for the drain timeout.</summary>
    public int Draining => drains.Draining;

    /// <summary>
    /// One sync: desired from the view, actual from the kernel, the difference applied. The report
    /// carries what the node serves (<see cref="SyncReport.Served"/>) to the rest of the agent.
    /// </summary>
    public SyncReport Run(ClusterView view, SyncTrigger trigger, Func<Health.ProbeTarget, bool>? isDown = null)
    {
        var started = Stopwatch.GetTimestamp();
        var phases = new PhaseTimes();
        try
        {
            bindLink.Ensure();
            var (wanted, served) = PhaseTimes.Time(ref phases.Desired, () => DesiredStateBuilder.Build(view, options.NodeName, options.ForwardTo, isDown, options.HealthCheckHostAddresses));
            var actual = PhaseTimes.Time(ref phases.ReadBack, () => ReadKernel(wanted, trigger));
            var settingWrites = sysctls.Ensure(verify: trigger == SyncTrigger.Periodic)
                + sloppy.Ensure(wanted: wanted.ConsistentServices.Count > 0, verify: trigger == SyncTrigger.Periodic)
                + (connectionSync?.Ensure(count: trigger == SyncTrigger.Periodic) ?? 0);
            // Without expire_nodest_conn a cut destination's clients would hang on silence: drain it instead.
            var cutOrDrain = sysctls.ExpiresConnections ? wanted : wanted with { Cut = new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>() };
            var desired = PhaseTimes.Time(ref phases.Desired, () => MaglevOrder.Canonical(drains.Apply(cutOrDrain, actual)));
            var applied = PhaseTimes.Time(ref phases.Apply, () => ApplyToKernel(wanted, desired, actual, served.Allocated));
            var (natWrites, netfilterFailure) = PhaseTimes.Time(ref phases.SourceNat, () => ApplyNetfilter(desired, trigger));
            return Completed(trigger, started, phases, applied, natWrites + settingWrites, desired) with
            {
                NetfilterFailure = netfilterFailure,
                NeedsSourceNat = desired.SourceNat.Count > 0,
                Served = served,
            };
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            return Failed(trigger, started, error);
        }
        finally
        {
            NodeMetrics.SyncDuration.WithLabels(trigger.ToString().ToLowerInvariant()).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>
    /// The kernel's state. Destinations matter only for the services we want (others are deleted
    /// whole or are not ours, like kube-proxy's); after a change, only for those whose wanted
    /// destinations changed. The periodic re-sync reads everything, which is where drift is repaired.
    /// </summary>
    private ActualState ReadKernel(DesiredState wanted, SyncTrigger trigger)
    {
        var known = trigger == SyncTrigger.Periodic ? (_ => null) : programmed.Known(wanted);
        return applier.ReadActual(key => wanted.Services.ContainsKey(key) ? known(key) : []);
    }

    /// <summary>Whether the last write of the netfilter table (source NAT, VIP port filter) succeeded.</summary>
    public bool NetfilterWorks { get; private set; } = true;

    /// <summary>
    /// The netfilter table, apart from IPVS: when nft fails, IPVS still serves what needs no source
    /// NAT, and the node still takes part in announcing those addresses.
    /// </summary>
    private (int Writes, Exception? Failure) ApplyNetfilter(DesiredState desired, SyncTrigger trigger)
    {
        try
        {
            var writes = dataplane.Netfilter.Apply(new NetfilterRules(desired.SourceNat, desired.Services.Keys.ToHashSet()), verify: trigger == SyncTrigger.Periodic);
            NetfilterWorks = true;
            return (writes, null);
        }
        catch (Exception error) when (error is InvalidOperationException or IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            NetfilterWorks = false;
            NodeMetrics.KernelErrors.Inc();
            return (0, error);
        }
    }

    /// <summary>Applies the difference; remembers what was programmed and which addresses are ours.</summary>
    /// <param name="allocated">The addresses IPAllocations claim: on the bind interface, ours to remove.</param>
    private AppliedPlan ApplyToKernel(DesiredState wanted, DesiredState desired, ActualState actual, IReadOnlySet<IPAddressValue> allocated)
    {
        // Recorded before they are bound: an agent killed in between finds them recorded, so they
        // are its to remove, not foreign addresses kept for ever. Recording one that then is not
        // bound costs nothing (removing an absent address is a no-op).
        owned.Record(owned.All.Concat(desired.Addresses));
        var applied = applier.Sync(desired, actual, address => allocated.Contains(address) || owned.Contains(address));
        var refused = applied.Failed.Select(f => f.Operation).ToList();
        programmed.Remember(wanted, desired, refused);
        // An address the kernel refused to remove is still ours to remove later.
        owned.Record(desired.Addresses.Concat(refused.OfType<SyncOperation.UnbindAddress>().Select(u => u.Address)));
        return applied;
    }

    private SyncReport Completed(SyncTrigger trigger, long started, PhaseTimes phases, AppliedPlan applied, int natWrites, DesiredState desired)
    {
        lastDesired = desired;
        HasSynced = true;
        var writes = applied.Writes + natWrites;
        var destinations = desired.Services.Values.Sum(s => s.Destinations.Count);
        NodeMetrics.KernelWrites.Inc(writes - applied.Failed.Count);
        NodeMetrics.KernelErrors.Inc(applied.Failed.Count);
        NodeMetrics.VirtualServices.Set(desired.Services.Count);
        NodeMetrics.Destinations.Set(destinations);
        NodeMetrics.DrainingDestinations.Set(drains.Draining);
        NodeMetrics.Addresses.Set(desired.Addresses.Count);
        PublishChoiceDigests(desired);
        NodeMetrics.Syncs.WithLabels(applied.Failed.Count == 0 ? "ok" : "partial").Inc();
        NodeMetrics.LastSuccessfulSync.SetToCurrentTimeUtc();
        var report = new SyncReport(trigger, Stopwatch.GetElapsedTime(started), writes, applied.Failed.Count, desired.Services.Count, destinations)
        {
            Phases = phases.ToPhases(),
        };
        if (writes > 0)
        {
            logger.LogInformation("synced ({Trigger}) in {Milliseconds:F1} ms ({Phases}): {Writes} kernel writes, {Errors} refused; {Services} virtual services, {Destinations} destinations",
                trigger, report.Duration.TotalMilliseconds, report.Phases, writes, applied.Failed.Count, desired.Services.Count, destinations);
        }
        return report;
    }

    /// <summary>The digests of the consistent VIPs, and their metric (a VIP no longer consistent loses its series).</summary>
    private void PublishChoiceDigests(DesiredState desired)
    {
        var digests = ConsistentChoiceDigest.Of(desired, sloppy.On);
        foreach (var gone in ChoiceDigests.Keys.Except(digests.Keys))
        {
            NodeMetrics.ChoiceDigest.RemoveLabelled(gone.ToString());
        }
        foreach (var (address, digest) in digests)
        {
            NodeMetrics.ChoiceDigest.WithLabels(address.ToString()).Set(ConsistentChoiceDigest.AsNumber(digest));
        }
        NodeMetrics.SloppyConnections.Set(sloppy.On ? 1 : 0);
        ChoiceDigests = digests;
    }

    private SyncReport Failed(SyncTrigger trigger, long started, Exception error)
    {
        programmed.Forget();
        NodeMetrics.KernelErrors.Inc();
        NodeMetrics.Syncs.WithLabels("failed").Inc();
        return new SyncReport(trigger, Stopwatch.GetElapsedTime(started), 0, 1, 0, 0, error);
    }

    /// <summary>Where a sync's time went; the desired-state phase is timed twice (built, then drained).</summary>
    private sealed class PhaseTimes
    {
        public TimeSpan ReadBack;
        public TimeSpan Desired;
        public TimeSpan Apply;
        public TimeSpan SourceNat;

        public static T Time<T>(ref TimeSpan phase, Func<T> step)
        {
            var started = Stopwatch.GetTimestamp();
            var result = step();
            phase += Stopwatch.GetElapsedTime(started);
            return result;
        }

        public SyncPhases ToPhases() => new(ReadBack, Desired, Apply, SourceNat);
    }
}
