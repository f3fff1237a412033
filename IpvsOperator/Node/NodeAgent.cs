using System.Diagnostics;
using System.Threading.Channels;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Neighbours;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Events;
using IpvsOperator.Runtime.Rbac;
using IpvsOperator.Runtime.Watching;
using Prometheus;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>Everything the <c>node</c> verb is told.</summary>
public sealed record NodeAgentOptions
{
    public required string NodeName { get; init; }
    public string BindInterface { get; init; } = "ipvs-lb0";
    public ForwardTarget ForwardTo { get; init; } = ForwardTarget.Endpoints;

    /// <summary>How long a terminating or removed endpoint keeps weight 0 before it is deleted.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The full re-sync that repairs drift (a rule deleted by hand, a restarted kernel module).</summary>
    public TimeSpan SyncPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Changes arriving within this time are applied in one sync.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Where the bound VIPs are recorded (null: only in memory).</summary>
    public string? StateFile { get; init; }

    /// <summary>
    /// Layer 2 announcement of the VIPs, one node per address (null: none; the VIPs reach the nodes
    /// some other way, such as routes from the network).
    /// </summary>
    public Layer2Options? Layer2 { get; init; }
}

/// <summary>The kernel interfaces the agent programs: real ones on a node, in-memory ones locally and in tests.</summary>
public sealed record NodeDataplane(IIpvs Ipvs, IAddressManager Links, ISourceNat SourceNat, INeighbourAdvertiser Advertiser, ISysctl Sysctl);

public enum SyncTrigger
{
    Change,
    Periodic,
    Drain,
    Retry,
}

/// <summary>
/// What one sync did, for logs, tests and the benchmark: its time in all and in its phases (read
/// the kernel back, compute the desired state, apply the difference, the source NAT table).
/// </summary>
public sealed record SyncReport(SyncTrigger Trigger, TimeSpan Duration, int Writes, int Errors, int VirtualServices, int Destinations, Exception? Failure = null)
{
    public SyncPhases Phases { get; init; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
}

public sealed record SyncPhases(TimeSpan ReadBack, TimeSpan Desired, TimeSpan Apply, TimeSpan SourceNat)
{
    public override string ToString() =>
        $"read back {ReadBack.TotalSeconds:F2} s, desired {Desired.TotalSeconds:F2} s, apply {Apply.TotalSeconds:F2} s, source NAT {SourceNat.TotalSeconds:F2} s";
}

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
    private readonly SyncApplier applier;
    private readonly DrainTracker drains;
    private readonly OwnedAddresses owned;
    private readonly ProgrammedState programmed = new();
    private readonly Channel<bool> changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private IReadOnlyList<ServiceWarning> pendingWarnings = [];
    private HashSet<ServiceWarning> warned = [];
    private readonly AnnouncementElection? election;
    private readonly Layer2Announcer? announcer;
    private readonly AnnouncementStatus? announcementStatus;

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
        applier = new SyncApplier(dataplane.Ipvs, dataplane.Links, options.BindInterface, logger);
        drains = new DrainTracker(options.DrainTimeout, clock);
        owned = new OwnedAddresses(options.StateFile, logger);
        if (options.Layer2 is { } layer2)
        {
            layer2.Validate();
            announcer = new Layer2Announcer(dataplane, layer2, IsAllocated, loggers.CreateLogger<Layer2Announcer>(), clock);
            election = new AnnouncementElection(kubernetes, layer2.Election(options.NodeName), loggers.CreateLogger<AnnouncementElection>(), clock)
            {
                CanAnnounce = announcer.Ready,
            };
            announcementStatus = new AnnouncementStatus(kubernetes, events, options.NodeName, loggers.CreateLogger<AnnouncementStatus>(), clock);
            // Called on the election's loop, one at a time: the kernel first, then the API (on the sync loop).
            election.HeldChanged += held =>
            {
                announcer.Apply(held);
                announcementStatus.Update(held);
                changed.Writer.TryWrite(true);
            };
            election.Renewed += announcer.Apply;
            announcer.ProblemChanged += _ => changed.Writer.TryWrite(true);
            election.Took += announcementStatus.RecordTakeover;
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
    public IReadOnlySet<string> Announcing => announcementStatus?.Held ?? new HashSet<string>();

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
            await LoopAsync(() => announcing = StartAnnouncing(stop.Token), stop.Token);
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
    private Task StartAnnouncing(CancellationToken cancellationToken) => election is null
        ? Task.CompletedTask
        : Task.Run(() => election.RunAsync(() => announcementCandidates, cancellationToken), CancellationToken.None);

    private volatile IReadOnlyDictionary<string, IReadOnlySet<string>?> announcementCandidates = new Dictionary<string, IReadOnlySet<string>?>();
    private volatile IReadOnlyDictionary<IPAddressValue, AnnouncedAddress> announced = new Dictionary<IPAddressValue, AnnouncedAddress>();

    // The allocated addresses as of the last sync, which computes them anyway.
    private volatile HashSet<IPAddressValue> allocatedAddresses = [];

    private bool IsAllocated(IPAddressValue address) => allocatedAddresses.Contains(address);

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
            await RecordWarningsAsync(cancellationToken);
            if (announcementStatus is not null)
            {
                await announcementStatus.PublishAsync(announced, announcer?.Interface, cancellationToken);
                await RecordAnnouncementProblemAsync(cancellationToken);
            }
            if (report.Failure is { } failure && failures == 0)
            {
                // Once per outage, on the Node (kubectl describe node), not on every retry.
                await events.RecordAsync(ThisNode, EventType.Warning, "SyncFailed",
                    $"the node agent cannot program the kernel: {failure.Message}; retrying with backoff", cancellationToken);
            }
            LastReport = report;
            LastAttempt = clock.GetUtcNow();
            Synced?.Invoke(report);
            failures = report.Failure is null ? 0 : failures + 1;

            // Wake for the next change, the periodic re-sync, the end of a drain, or a retry with backoff.
            var wake = nextPeriodic;
            var timedTrigger = SyncTrigger.Periodic;
            if (drains.NextExpiry is { } drainEnds && drainEnds < wake)
            {
                (wake, timedTrigger) = (drainEnds, SyncTrigger.Drain);
            }
            if (failures > 0 && clock.GetUtcNow() + Backoff(failures) < wake)
            {
                (wake, timedTrigger) = (clock.GetUtcNow() + Backoff(failures), SyncTrigger.Retry);
            }
            trigger = await WaitAsync(wake, timedTrigger, cancellationToken);
        }
    }

    private V1Node ThisNode => nodes?.Get(new ObjectKey(string.Empty, options.NodeName))
        ?? new V1Node { ApiVersion = "v1", Kind = "Node", Metadata = new V1ObjectMeta { Name = options.NodeName } };

    private static TimeSpan Backoff(int failures) => TimeSpan.FromMilliseconds(Math.Min(30_000, 500 * Math.Pow(2, Math.Min(failures - 1, 8))));

    private async Task<SyncTrigger> WaitAsync(DateTimeOffset wake, SyncTrigger timedTrigger, CancellationToken cancellationToken)
    {
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

    /// <summary>One sync: desired from the caches, actual from the kernel, the difference applied.</summary>
    private SyncReport Sync(SyncTrigger trigger)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            if (!dataplane.Links.ListLinks().Any(l => l.Name == options.BindInterface && l.Up))
            {
                dataplane.Links.EnsureDummyLink(options.BindInterface);
                logger.LogInformation("created the dummy interface {Interface} for the VIPs", options.BindInterface);
            }
            var phase = Stopwatch.GetTimestamp();
            var view = new ClusterView([.. allocations.Items], [.. services.Items], [.. slices.Items], [.. nodes?.Items ?? []]);
            var allocated = view.Allocations.Select(a => IPAddressValue.TryParse(a.Spec?.Address, out var address) ? address : (IPAddressValue?)null)
                .OfType<IPAddressValue>().ToHashSet();
            var built = DesiredStateBuilder.Build(view, options.NodeName, options.ForwardTo);
            var computed = Stopwatch.GetElapsedTime(phase);

            phase = Stopwatch.GetTimestamp();
            // Destinations matter only for the services we want (others are deleted whole or not ours,
            // like kube-proxy's); after a change, only for those whose wanted destinations changed.
            var known = trigger == SyncTrigger.Periodic ? (_ => null) : programmed.Known(built);
            var actual = applier.ReadActual(key => built.Services.ContainsKey(key) ? known(key) : []);
            var readBack = Stopwatch.GetElapsedTime(phase);

            phase = Stopwatch.GetTimestamp();
            var desired = drains.Apply(built, actual);
            computed += Stopwatch.GetElapsedTime(phase);

            phase = Stopwatch.GetTimestamp();
            allocatedAddresses = allocated;
            var result = applier.Sync(desired, actual, a => allocated.Contains(a) || owned.Contains(a));
            programmed.Remember(built, desired, result.Failed.Select(f => f.Operation));
            var stillBound = result.Failed.Select(f => f.Operation).OfType<SyncOperation.UnbindAddress>().Select(u => u.Address);
            owned.Record(desired.Addresses.Concat(stillBound));
            var applied = Stopwatch.GetElapsedTime(phase);

            phase = Stopwatch.GetTimestamp();
            var writes = result.Writes + dataplane.SourceNat.Apply(desired.SourceNat, verify: trigger == SyncTrigger.Periodic);
            var phases = new SyncPhases(readBack, computed, applied, Stopwatch.GetElapsedTime(phase));
            pendingWarnings = desired.Warnings;
            announced = built.Announced;
            announcementCandidates = built.Announced.ToDictionary(a => a.Key.ToString(), a => a.Value.Eligible);

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
            var report = new SyncReport(trigger, Stopwatch.GetElapsedTime(started), writes, result.Failed.Count, desired.Services.Count, destinations) { Phases = phases };
            if (writes > 0)
            {
                logger.LogInformation("synced ({Trigger}) in {Milliseconds:F1} ms ({Phases}): {Writes} kernel writes, {Errors} refused; {Services} virtual services, {Destinations} destinations",
                    trigger, report.Duration.TotalMilliseconds, phases, writes, result.Failed.Count, desired.Services.Count, destinations);
            }
            return report;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            programmed.Forget();
            // The kernel or the source NAT refused as a whole (no IPVS, no permission, nft missing):
            // say why, count it, retry with backoff; the loop itself never stops.
            logger.LogError("sync ({Trigger}) failed: {Error}", trigger, error.Message);
            NodeMetrics.KernelErrors.Inc();
            NodeMetrics.Syncs.WithLabels("failed").Inc();
            return new SyncReport(trigger, Stopwatch.GetElapsedTime(started), 0, 1, 0, 0, error);
        }
        finally
        {
            NodeMetrics.SyncDuration.WithLabels(trigger.ToString().ToLowerInvariant()).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private string? reportedAnnouncementProblem;

    /// <summary>A Warning Event on the Node when the VIPs cannot be announced, once per problem.</summary>
    private async Task RecordAnnouncementProblemAsync(CancellationToken cancellationToken)
    {
        var problem = announcer?.Problem;
        if (problem is not null && problem != reportedAnnouncementProblem)
        {
            await events.RecordAsync(ThisNode, EventType.Warning, "AnnouncementFailed", $"{problem}; this node announces no VIP until that is mended", cancellationToken);
        }
        reportedAnnouncementProblem = problem;
    }

    /// <summary>A Warning Event on the Service when a problem first appears (not on every sync).</summary>
    private async Task RecordWarningsAsync(CancellationToken cancellationToken)
    {
        var now = pendingWarnings.ToHashSet();
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
}
