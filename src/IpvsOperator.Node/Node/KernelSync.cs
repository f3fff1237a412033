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
    private readonly AppliedVips record = new();
    private bool? publishedSloppy;
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

    /// <summary>Whether a destination drains now.</summary>
    public bool IsDraining(VirtualServiceKey service, IPAddressValue address, ushort port) => drains.IsDraining(service, address, port);

    /// <summary>One VIP's virtual services as last applied, with what it serves (null: nothing of it).</summary>
    public VipPart? ProgrammedOn(IPAddressValue vip) => record.PartOf(vip);

    /// <summary>
    /// The objects the desired state is built from, fed with every change the watches see; it says
    /// which VIPs a change touched, for <see cref="RunChanged"/>.
    /// </summary>
    public ClusterIndex Index { get; } = new();

    /// <summary>
    /// One full sync: desired from the view, actual from the kernel, the difference applied. The
    /// report carries what the node serves (<see cref="SyncReport.Served"/>) to the rest of the agent.
    /// </summary>
    public SyncReport Run(ClusterView view, SyncTrigger trigger, Func<Health.ProbeTarget, bool>? isDown = null) => Run(() => view, trigger, isDown);

    /// <summary>
    /// One full sync, the index replaced by the view <paramref name="read"/> returns (read under the
    /// index's lock, so that no change the watches deliver meanwhile is lost): the safety net that
    /// repairs drift in the kernel and any change the index missed or got out of order.
    /// </summary>
    public SyncReport Run(Func<ClusterView> read, SyncTrigger trigger, Func<Health.ProbeTarget, bool>? isDown = null)
    {
        var started = Stopwatch.GetTimestamp();
        var phases = new PhaseTimes();
        try
        {
            bindLink.Ensure();
            Index.Reset(read);
            var parts = PhaseTimes.Time(ref phases.Desired, () => BuildParts(Index.Vips(), isDown));
            var (wanted, served) = Merge(parts.Values);
            var actual = PhaseTimes.Time(ref phases.ReadBack, () => ReadKernel(wanted, trigger));
            var settingWrites = sysctls.Ensure(verify: trigger == SyncTrigger.Periodic)
                + sloppy.Ensure(wanted: wanted.ConsistentServices.Count > 0, verify: trigger == SyncTrigger.Periodic)
                + (connectionSync?.Ensure(count: trigger == SyncTrigger.Periodic) ?? 0);
            // Without expire_nodest_conn a cut destination's clients would hang on silence: drain it instead.
            var cutOrDrain = sysctls.ExpiresConnections ? wanted : wanted with { Cut = new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>() };
            var desired = PhaseTimes.Time(ref phases.Desired, () => MaglevOrder.Canonical(drains.Apply(cutOrDrain, actual)));
            var applied = PhaseTimes.Time(ref phases.Apply, () => ApplyToKernel(wanted, desired, actual, served.Allocated));
            PhaseTimes.Time(ref phases.Desired, () =>
            {
                // Sliced before the reset, which forgets the parts an unchanged VIP keeps.
                var sliced = parts.Select(p => (p.Key, new VipPart(Slice(desired, p.Key, p.Value.Kernel, record.PartOf(p.Key)?.Programmed), p.Value.Served))).ToList();
                record.Reset(sliced, valid: applied.Failed.Count == 0);
            });
            var (natWrites, netfilterFailure) = PhaseTimes.Time(ref phases.SourceNat, () => ApplyNetfilter(desired, trigger));
            PublishChoiceDigests(record.Desired);
            return Completed(trigger, started, phases, applied, natWrites + settingWrites) with
            {
                NetfilterFailure = netfilterFailure,
                NeedsSourceNat = desired.SourceNat.Count > 0,
                Served = record.Served,
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
    /// A sync of what changed since the last one: the VIPs <see cref="Index"/> says a change touched
    /// and those whose drain ran out, each rebuilt from its own objects and diffed against what the
    /// agent last applied to it (no kernel dump), so that its cost is the change's, not the node's.
    /// Any doubt makes it the full sync (<paramref name="read"/> gives the whole view): a change
    /// the index cannot place (a node, a pool), a record not vouched for (no full sync yet, a failed
    /// one), an operation the kernel refuses, or an error.
    /// </summary>
    public SyncReport RunChanged(Func<ClusterView> read, SyncTrigger trigger, Func<Health.ProbeTarget, bool>? isDown = null)
    {
        var changes = Index.TakeChanges();
        if (changes.Whole || !record.Valid)
        {
            return Run(read, trigger, isDown);
        }
        var started = Stopwatch.GetTimestamp();
        var phases = new PhaseTimes();
        SyncReport report;
        try
        {
            var vips = changes.Vips.Concat(drains.Due()).ToHashSet();
            var parts = PhaseTimes.Time(ref phases.Desired, () => BuildParts(vips, isDown));
            var (wanted, served) = Merge(parts.Values);
            var actual = record.Programmed(vips);
            var consistentAfter = record.ConsistentCount - vips.Sum(v => record.PartOf(v)?.Programmed.ConsistentServices.Count ?? 0) + wanted.ConsistentServices.Count;
            var settingWrites = sysctls.Ensure(verify: false) + sloppy.Ensure(wanted: consistentAfter > 0, verify: false);
            var cutOrDrain = sysctls.ExpiresConnections ? wanted : wanted with { Cut = new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>() };
            var desired = PhaseTimes.Time(ref phases.Desired, () => MaglevOrder.Canonical(drains.Apply(cutOrDrain, actual, vips)));
            var applied = PhaseTimes.Time(ref phases.Apply, () => ApplyChanged(vips, wanted, desired, actual, served.Allocated));
            var netfilterChanged = !NetfilterWorks;
            foreach (var vip in vips)
            {
                var part = parts.TryGetValue(vip, out var built) ? new VipPart(Slice(desired, vip, built.Kernel, record.PartOf(vip)?.Programmed), built.Served) : null;
                netfilterChanged |= !SameNetfilter(record.PartOf(vip)?.Programmed, part?.Programmed);
                record.Replace(vip, part);
            }
            var (natWrites, netfilterFailure) = (0, (Exception?)null);
            if (netfilterChanged)
            {
                (natWrites, netfilterFailure) = PhaseTimes.Time(ref phases.SourceNat, () => ApplyNetfilter(record.Desired, trigger));
            }
            PublishChoiceDigests(record.Desired, vips);
            report = Completed(trigger, started, phases, applied, natWrites + settingWrites) with
            {
                NetfilterFailure = netfilterFailure,
                NeedsSourceNat = record.Desired.SourceNat.Count > 0,
                Served = record.Served,
                Whole = false,
                VipsSynced = vips.Count,
            };
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            logger.LogWarning("sync ({Trigger}) of the changed VIPs failed ({Error}): syncing everything", trigger, error.Message);
            record.Invalidate();
            return Run(read, trigger, isDown);
        }
        finally
        {
            NodeMetrics.SyncDuration.WithLabels(trigger.ToString().ToLowerInvariant()).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        if (report.Errors == 0)
        {
            return report;
        }
        // The kernel refused something: what it holds is no longer what the record says.
        var whole = Run(read, trigger, isDown);
        return whole with { Writes = whole.Writes + report.Writes, Errors = whole.Errors + report.Errors };
    }

    /// <summary>Whether two parts of one VIP ask the same of the netfilter table (the same ports served, the same ones masqueraded).</summary>
    private static bool SameNetfilter(DesiredState? before, DesiredState? after) =>
        (before?.SourceNat ?? new HashSet<VirtualServiceKey>()).SetEquals(after?.SourceNat ?? new HashSet<VirtualServiceKey>())
        && (before?.Services.Keys ?? []).ToHashSet().SetEquals(after?.Services.Keys ?? []);

    /// <summary>Each VIP's part, built from its own objects (a VIP nothing is served on has none).</summary>
    private Dictionary<IPAddressValue, (DesiredState Kernel, ServedServices Served)> BuildParts(IEnumerable<IPAddressValue> vips, Func<Health.ProbeTarget, bool>? isDown)
    {
        var parts = new Dictionary<IPAddressValue, (DesiredState, ServedServices)>();
        foreach (var vip in vips)
        {
            var view = Index.ViewOf(vip);
            if (view.Allocations.Count > 0)
            {
                parts[vip] = DesiredStateBuilder.Build(view, options.NodeName, options.ForwardTo, isDown, options.HealthCheckHostAddresses);
            }
        }
        return parts;
    }

    /// <summary>The parts as one desired state and one served whole.</summary>
    private static (DesiredState Kernel, ServedServices Served) Merge(IEnumerable<(DesiredState Kernel, ServedServices Served)> parts)
    {
        var (addresses, services, sourceNat, cut, held, consistent) = (new HashSet<IPAddressValue>(), new Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)>(),
            new HashSet<VirtualServiceKey>(), new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>(), new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>(), new HashSet<VirtualServiceKey>());
        var (announced, allocated, probed, warnings) = (new Dictionary<IPAddressValue, AnnouncedAddress>(), new HashSet<IPAddressValue>(),
            new Dictionary<Health.ProbeTarget, HashSet<(string, string)>>(), new List<ServiceWarning>());
        foreach (var (kernel, served) in parts)
        {
            addresses.UnionWith(kernel.Addresses);
            foreach (var (key, service) in kernel.Services)
            {
                services[key] = service;
            }
            sourceNat.UnionWith(kernel.SourceNat);
            cut.UnionWith(kernel.Cut);
            held.UnionWith(kernel.HeldByHealthCheck);
            consistent.UnionWith(kernel.ConsistentServices);
            foreach (var (address, announcement) in served.Announced)
            {
                announced[address] = announcement;
            }
            allocated.UnionWith(served.Allocated);
            foreach (var (target, users) in served.Probed)
            {
                (probed.TryGetValue(target, out var known) ? known : probed[target] = []).UnionWith(users);
            }
            warnings.AddRange(served.Warnings);
        }
        return (new DesiredState(addresses, services, sourceNat) { Cut = cut, HeldByHealthCheck = held, ConsistentServices = consistent },
            new ServedServices(announced, allocated, probed.ToDictionary(p => p.Key, p => (IReadOnlyCollection<(string, string)>)p.Value), warnings));
    }

    /// <summary>
    /// One VIP's share of a programmed state: its address if bound, its virtual services as
    /// programmed, its sets. What equals the VIP's last recorded share (<paramref name="previous"/>)
    /// is that share's own objects, the whole share when nothing changed: every sync builds the
    /// state anew, and the record (with the kernel twin, which holds the destinations it was
    /// given) then keeps one copy of an unchanged VIP, not one per sync; the new copy dies young.
    /// </summary>
    private static DesiredState Slice(DesiredState programmed, IPAddressValue vip, DesiredState wantedPart, DesiredState? previous)
    {
        var services = new Dictionary<VirtualServiceKey, (VirtualService Service, IReadOnlyList<Destination> Destinations)>();
        var unchanged = previous is not null;
        foreach (var key in wantedPart.Services.Keys.Where(programmed.Services.ContainsKey))
        {
            var entry = programmed.Services[key];
            if (previous is not null && previous.Services.TryGetValue(key, out var before) && before.Service == entry.Service && before.Destinations.SequenceEqual(entry.Destinations))
            {
                entry = before;
            }
            else
            {
                unchanged = false;
            }
            services[key] = entry;
        }
        var slice = new DesiredState(programmed.Addresses.Contains(vip) ? new HashSet<IPAddressValue> { vip } : new HashSet<IPAddressValue>(), services, wantedPart.SourceNat)
        {
            Cut = wantedPart.Cut,
            HeldByHealthCheck = wantedPart.HeldByHealthCheck,
            ConsistentServices = wantedPart.ConsistentServices,
        };
        return unchanged && previous!.Services.Count == services.Count && previous.Addresses.SetEquals(slice.Addresses) && previous.SourceNat.SetEquals(slice.SourceNat)
            && previous.Cut.SetEquals(slice.Cut) && previous.HeldByHealthCheck.SetEquals(slice.HeldByHealthCheck) && previous.ConsistentServices.SetEquals(slice.ConsistentServices)
            ? previous
            : slice;
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

    /// <summary>
    /// Applies the difference for the changed VIPs alone: only their addresses are ours to remove
    /// here, and only they are recorded or forgotten as bound.
    /// </summary>
    private AppliedPlan ApplyChanged(HashSet<IPAddressValue> vips, DesiredState wanted, DesiredState desired, ActualState actual, IReadOnlySet<IPAddressValue> allocated)
    {
        if (desired.Addresses.Any(a => !owned.Contains(a)))
        {
            owned.Record(owned.All.Concat(desired.Addresses));
        }
        var applied = applier.Sync(desired, actual, address => vips.Contains(address) && (allocated.Contains(address) || owned.Contains(address) || actual.BoundAddresses.Contains(address)));
        if (applied.Failed.Count > 0)
        {
            record.Invalidate();
            programmed.Forget();
            return applied;
        }
        programmed.Replace(actual.Services.Keys, wanted, desired);
        var unbound = vips.Where(v => owned.Contains(v) && !desired.Addresses.Contains(v)).ToList();
        if (unbound.Count > 0)
        {
            owned.Record(owned.All.Except(unbound));
        }
        return applied;
    }

    private SyncReport Completed(SyncTrigger trigger, long started, PhaseTimes phases, AppliedPlan applied, int natWrites)
    {
        var desired = lastDesired = record.Desired;
        HasSynced = true;
        var writes = applied.Writes + natWrites;
        var destinations = record.Destinations;
        NodeMetrics.KernelWrites.Inc(writes - applied.Failed.Count);
        NodeMetrics.KernelErrors.Inc(applied.Failed.Count);
        NodeMetrics.VirtualServices.Set(desired.Services.Count);
        NodeMetrics.Destinations.Set(destinations);
        NodeMetrics.DrainingDestinations.Set(drains.Draining);
        NodeMetrics.Addresses.Set(desired.Addresses.Count);
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
    /// <param name="only">The VIPs a sync changed: when none of them has consistent services, before or after, nor sloppy changed, the digests stand.</param>
    private void PublishChoiceDigests(DesiredState desired, IReadOnlySet<IPAddressValue>? only = null)
    {
        if (only is not null && sloppy.On == publishedSloppy
            && !only.Any(v => ChoiceDigests.ContainsKey(v) || record.PartOf(v)?.Programmed.ConsistentServices.Count > 0))
        {
            return;
        }
        publishedSloppy = sloppy.On;
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
        record.Invalidate();
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

        public static void Time(ref TimeSpan phase, Action step)
        {
            var started = Stopwatch.GetTimestamp();
            step();
            phase += Stopwatch.GetElapsedTime(started);
        }

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
