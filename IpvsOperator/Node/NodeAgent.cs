using System.Diagnostics;
using System.Threading.Channels;
using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Events;
using IpvsOperator.Runtime.Rbac;
using IpvsOperator.Runtime.Resilience;
using IpvsOperator.Runtime.Watching;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace IpvsOperator.Node;

/// <summary>
/// The node agent: keeps the node's kernel equal to the cluster. Every allocated VIP bound on the
/// bind interface, one IPVS virtual service per Service port with the endpoints behind it, and the
/// source NAT that brings replies back through this node. Syncs on every change (debounced) and
/// fully every sync period, which repairs drift; each sync reads the kernel back and applies only
/// the difference, so a sync with nothing to change writes nothing.
/// </summary>
[EntityRbac(typeof(V1Alpha1IPAllocation), Verbs = RbacVerb.List | RbacVerb.Watch, Component = "node")]
[EntityRbac(typeof(V1Service), typeof(V1EndpointSlice), typeof(V1Node), Verbs = RbacVerb.List | RbacVerb.Watch, Component = "node")]
[EntityRbac(typeof(Corev1Event), Verbs = RbacVerb.Create | RbacVerb.Get | RbacVerb.Update, Component = "node")]
[EntityRbac(typeof(V1Lease), Verbs = RbacVerb.Get | RbacVerb.List | RbacVerb.Create | RbacVerb.Update | RbacVerb.Delete, Component = "node")]
[EntityRbac(typeof(V1Service), Verbs = RbacVerb.Patch, Component = "node")]
[GenericRbac(Resources = ["services/status"], Verbs = RbacVerb.Patch, Component = "node")]
public sealed class NodeAgent
{
    private readonly NodeDataplane dataplane;
    private readonly NodeAgentOptions options;
    private readonly ILogger logger;
    private readonly TimeProvider clock;
    private readonly EventRecorder events;
    private readonly Informer<V1Alpha1IPAllocation> allocations;
    private readonly Informer<V1Service> services;
    private readonly Informer<V1EndpointSlice> slices;
    private readonly Informer<V1Node>? nodes;
    private readonly BindLink bindLink;
    private readonly SyncApplier applier;
    private readonly DrainTracker drains;
    private readonly OwnedAddresses owned;
    private readonly ProgrammedState programmed = new();
    private readonly Layer2Announcement? layer2;
    private readonly Channel<bool> changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // What the last sync computed, for the steps that follow it on the loop and for the election's loop.
    private volatile DesiredState lastDesired = DesiredState.Empty;
    private HashSet<ServiceWarning> warned = [];
    private string? reportedAnnouncementProblem;

    public NodeAgent(IKubernetes kubernetes, NodeDataplane dataplane, NodeAgentOptions options, ILoggerFactory loggers, TimeProvider? time = null)
    {
        this.dataplane = dataplane;
        this.options = options;
        logger = loggers.CreateLogger<NodeAgent>();
        clock = time ?? TimeProvider.System;
        events = new EventRecorder(kubernetes, "ipvs-operator-node", loggers.CreateLogger<EventRecorder>(), clock);
        allocations = Watch(new EntityClient<V1Alpha1IPAllocation>(kubernetes));
        services = Watch(new EntityClient<V1Service>(kubernetes));
        slices = Watch(new EntityClient<V1EndpointSlice>(kubernetes));
        // Nodes matter only to the node-port mode (their InternalIPs are the destinations).
        nodes = options.ForwardTo == ForwardTarget.NodePort ? Watch(new EntityClient<V1Node>(kubernetes)) : null;
        bindLink = new BindLink(dataplane.Links, options.BindInterface, logger);
        applier = new SyncApplier(dataplane.Ipvs, bindLink, logger);
        drains = new DrainTracker(options.DrainTimeout, clock);
        owned = new OwnedAddresses(options.StateFile, logger);
        if (options.Layer2 is { } layer2Options)
        {
            layer2 = new Layer2Announcement(kubernetes, dataplane, options.NodeName, layer2Options, events,
                address => lastDesired.Allocated.Contains(address), () => changed.Writer.TryWrite(true), loggers, clock);
        }

        Informer<T> Watch<T>(EntityClient<T> client)
            where T : class, IKubernetesObject<V1ObjectMeta>
        {
            var informer = new Informer<T>(client, loggers.CreateLogger<Informer<T>>(), time: clock);
            informer.Subscribe(_ => changed.Writer.TryWrite(true));
            return informer;
        }
    }

    /// <summary>True once the kernel has been synced with the cluster at least once.</summary>
    public bool IsReady { get; private set; }

    /// <summary>When the loop last finished a sync, successful or not: liveness.</summary>
    public DateTimeOffset? LastAttempt { get; private set; }

    public SyncReport? LastReport { get; private set; }

    /// <summary>The addresses this node announces on the LAN now (empty without layer 2 announcement).</summary>
    public IReadOnlySet<IPAddressValue> Announcing => layer2?.Held ?? new HashSet<IPAddressValue>();

    /// <summary>Raised after every sync (tests and the benchmark watch convergence through it).</summary>
    public event Action<SyncReport>? Synced;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watches = new List<Task> { allocations.RunAsync(stop.Token), services.RunAsync(stop.Token), slices.RunAsync(stop.Token) };
        var announcing = Task.CompletedTask;
        if (nodes is not null)
        {
            watches.Add(nodes.RunAsync(stop.Token));
        }
        try
        {
            await Task.WhenAll(allocations.WaitForSyncAsync(stop.Token), services.WaitForSyncAsync(stop.Token), slices.WaitForSyncAsync(stop.Token),
                nodes?.WaitForSyncAsync(stop.Token) ?? Task.CompletedTask);
            logger.LogInformation("node agent on {Node}: caches synced; serving VIPs on {Interface}, forwarding to {Target}", options.NodeName, options.BindInterface, options.ForwardTo);
            await LoopAsync(() => announcing = JoinElection(stop.Token), stop.Token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping. The kernel keeps serving what it holds: an agent restart never drops traffic.
        }
        finally
        {
            await stop.CancelAsync();
            // A clean stop hands the announced addresses over at once (the election steps down).
            await announcing;
            await Task.WhenAll(watches);
        }
    }

    /// <summary>
    /// Joins the election for the VIPs: only after the first sync, so that a node announces an
    /// address only once its kernel serves it.
    /// </summary>
    private Task JoinElection(CancellationToken cancellationToken) =>
        layer2?.RunAsync(() => lastDesired.Announced.ToDictionary(a => a.Key, a => a.Value.Eligible), cancellationToken) ?? Task.CompletedTask;

    private async Task LoopAsync(Action firstSynced, CancellationToken cancellationToken)
    {
        var joined = false;
        var trigger = SyncTrigger.Periodic;
        var nextPeriodic = clock.GetUtcNow();
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (trigger == SyncTrigger.Periodic)
            {
                nextPeriodic = clock.GetUtcNow() + options.SyncPeriod;
            }
            var report = Sync(trigger);
            if (!joined && report.Failure is null)
            {
                joined = true;
                firstSynced();
            }
            await ReportAsync(report, failedBefore: failures > 0, cancellationToken);
            LastReport = report;
            LastAttempt = clock.GetUtcNow();
            Synced?.Invoke(report);
            failures = report.Failure is null ? 0 : failures + 1;
            trigger = await WaitForNextSyncAsync(nextPeriodic, failures, cancellationToken);
        }
    }

    /// <summary>One sync: desired from the caches, actual from the kernel, the difference applied.</summary>
    private SyncReport Sync(SyncTrigger trigger)
    {
        var started = Stopwatch.GetTimestamp();
        var phases = new PhaseTimes();
        try
        {
            bindLink.Ensure();
            var wanted = PhaseTimes.Time(ref phases.Desired, () => DesiredStateBuilder.Build(CurrentView(), options.NodeName, options.ForwardTo));
            var actual = PhaseTimes.Time(ref phases.ReadBack, () => ReadKernel(wanted, trigger));
            var desired = PhaseTimes.Time(ref phases.Desired, () => drains.Apply(wanted, actual));
            var result = PhaseTimes.Time(ref phases.Apply, () => ApplyToKernel(wanted, desired, actual));
            var natWrites = PhaseTimes.Time(ref phases.SourceNat, () => dataplane.SourceNat.Apply(desired.SourceNat, verify: trigger == SyncTrigger.Periodic));
            return Completed(trigger, started, phases, result, natWrites, desired);
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

    private ClusterView CurrentView() => new([.. allocations.Items], [.. services.Items], [.. slices.Items], [.. nodes?.Items ?? []]);

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

    /// <summary>Applies the difference; remembers what was programmed and which addresses are ours.</summary>
    private SyncResult ApplyToKernel(DesiredState wanted, DesiredState desired, ActualState actual)
    {
        var result = applier.Sync(desired, actual, address => desired.Allocated.Contains(address) || owned.Contains(address));
        var refused = result.Failed.Select(f => f.Operation).ToList();
        programmed.Remember(wanted, desired, refused);
        // An address the kernel refused to remove is still ours to remove later.
        owned.Record(desired.Addresses.Concat(refused.OfType<SyncOperation.UnbindAddress>().Select(u => u.Address)));
        return result;
    }

    private SyncReport Completed(SyncTrigger trigger, long started, PhaseTimes phases, SyncResult result, int natWrites, DesiredState desired)
    {
        lastDesired = desired;
        var writes = result.Writes + natWrites;
        var destinations = desired.Services.Values.Sum(s => s.Destinations.Count);
        NodeMetrics.KernelWrites.Inc(writes - result.Failed.Count);
        NodeMetrics.KernelErrors.Inc(result.Failed.Count);
        NodeMetrics.VirtualServices.Set(desired.Services.Count);
        NodeMetrics.Destinations.Set(destinations);
        NodeMetrics.DrainingDestinations.Set(drains.Draining);
        NodeMetrics.Addresses.Set(desired.Addresses.Count);
        NodeMetrics.Syncs.WithLabels(result.Failed.Count == 0 ? "ok" : "partial").Inc();
        NodeMetrics.LastSuccessfulSync.SetToCurrentTimeUtc();
        IsReady = true;
        var report = new SyncReport(trigger, Stopwatch.GetElapsedTime(started), writes, result.Failed.Count, desired.Services.Count, destinations)
        {
            Phases = phases.ToPhases(),
        };
        if (writes > 0)
        {
            logger.LogInformation("synced ({Trigger}) in {Milliseconds:F1} ms ({Phases}): {Writes} kernel writes, {Errors} refused; {Services} virtual services, {Destinations} destinations",
                trigger, report.Duration.TotalMilliseconds, report.Phases, writes, result.Failed.Count, desired.Services.Count, destinations);
        }
        return report;
    }

    private SyncReport Failed(SyncTrigger trigger, long started, Exception error)
    {
        programmed.Forget();
        // The kernel or the source NAT refused as a whole (no IPVS, no permission, nft missing):
        // say why, count it, retry with backoff; the loop itself never stops.
        logger.LogError("sync ({Trigger}) failed: {Error}", trigger, error.Message);
        NodeMetrics.KernelErrors.Inc();
        NodeMetrics.Syncs.WithLabels("failed").Inc();
        return new SyncReport(trigger, Stopwatch.GetElapsedTime(started), 0, 1, 0, 0, error);
    }

    /// <summary>What the sync found worth telling users: Events on Services and on the Node, who announces.</summary>
    private async Task ReportAsync(SyncReport report, bool failedBefore, CancellationToken cancellationToken)
    {
        await RecordWarningsAsync(lastDesired.Warnings, cancellationToken);
        if (layer2 is not null)
        {
            await layer2.PublishAsync(lastDesired.Announced, cancellationToken);
            await RecordAnnouncementProblemAsync(layer2.Problem, cancellationToken);
        }
        if (report.Failure is { } failure && !failedBefore)
        {
            // Once per outage, on the Node (kubectl describe node), not on every retry.
            await events.RecordAsync(ThisNode, EventType.Warning, "SyncFailed",
                $"the node agent cannot program the kernel: {failure.Message}; retrying with backoff", cancellationToken);
        }
    }

    /// <summary>Waits for the next change, the periodic re-sync, the end of a drain, or a retry with backoff; says which came.</summary>
    private async Task<SyncTrigger> WaitForNextSyncAsync(DateTimeOffset nextPeriodic, int failures, CancellationToken cancellationToken)
    {
        var wake = nextPeriodic;
        var timedTrigger = SyncTrigger.Periodic;
        if (drains.NextExpiry is { } drainEnds && drainEnds < wake)
        {
            (wake, timedTrigger) = (drainEnds, SyncTrigger.Drain);
        }
        if (failures > 0 && clock.GetUtcNow() + Backoff.NodeSync.Delay(failures) < wake)
        {
            (wake, timedTrigger) = (clock.GetUtcNow() + Backoff.NodeSync.Delay(failures), SyncTrigger.Retry);
        }
        var delay = wake - clock.GetUtcNow();
        if (delay > TimeSpan.Zero)
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timer.CancelAfter(delay);
            try
            {
                await changed.Reader.WaitToReadAsync(timer.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return timedTrigger;
            }
        }
        if (!changed.Reader.TryRead(out _))
        {
            return timedTrigger;
        }
        // Let a burst of changes (a rollout, a new Service with its slices) land, then sync once.
        await Task.Delay(options.Debounce, clock, cancellationToken);
        changed.Reader.TryRead(out _);
        return SyncTrigger.Change;
    }

    private V1Node ThisNode => nodes?.Get(new ObjectKey(string.Empty, options.NodeName))
        ?? new V1Node { ApiVersion = "v1", Kind = "Node", Metadata = new V1ObjectMeta { Name = options.NodeName } };

    /// <summary>A Warning Event on the Node when the VIPs cannot be announced, once per problem.</summary>
    private async Task RecordAnnouncementProblemAsync(string? problem, CancellationToken cancellationToken)
    {
        if (problem is not null && problem != reportedAnnouncementProblem)
        {
            await events.RecordAsync(ThisNode, EventType.Warning, "AnnouncementFailed", $"{problem}; this node announces no VIP until that is mended", cancellationToken);
        }
        reportedAnnouncementProblem = problem;
    }

    /// <summary>A Warning Event on the Service when a problem first appears (not on every sync).</summary>
    private async Task RecordWarningsAsync(IReadOnlyList<ServiceWarning> warnings, CancellationToken cancellationToken)
    {
        var now = warnings.ToHashSet();
        foreach (var warning in now.Where(w => !warned.Contains(w)))
        {
            logger.LogWarning("Service {Namespace}/{Service}: {Message}", warning.Namespace, warning.Name, warning.Message);
            if (services.Get(new ObjectKey(warning.Namespace, warning.Name)) is { } service)
            {
                await events.RecordAsync(service, EventType.Warning, warning.Reason, warning.Message, cancellationToken);
            }
        }
        warned = now;
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
