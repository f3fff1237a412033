using System.Threading.Channels;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Probing;
using IpvsOperator.Entities;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Node.Bgp;
using IpvsOperator.Node.Health;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Events;
using IpvsOperator.Runtime.Rbac;
using IpvsOperator.Runtime.Resilience;
using IpvsOperator.Runtime.Watching;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// The node agent: keeps the node's kernel equal to the cluster. Every allocated VIP bound on the
/// bind interface, one IPVS virtual service per Service port with the endpoints behind it, and the
/// source NAT that brings replies back through this node. Syncs on every change (debounced): only
/// the VIPs the change touched, diffed against what it last applied to them, so that one Service's
/// change costs that Service's size whatever the node serves; and fully every sync period, reading
/// the kernel back, which repairs drift and anything the change path missed. Either applies only
/// the difference, so a sync with nothing to change writes nothing.
/// </summary>
[EntityRbac(typeof(V1Alpha1IPAllocation), Verbs = RbacVerb.List | RbacVerb.Watch, Component = "node")]
[EntityRbac(typeof(V1Service), typeof(V1EndpointSlice), typeof(V1Node), Verbs = RbacVerb.List | RbacVerb.Watch, Component = "node")]
// The Events it records, its announcers' included (they record through its recorder).
[EntityRbac(typeof(Corev1Event), Verbs = RbacVerb.Create | RbacVerb.Get | RbacVerb.Update, Component = "node")]
// How each pool is announced; with BGP, the peers and their password Secrets (only in the agents' own namespace).
[EntityRbac(typeof(V1Alpha1IPPool), typeof(V1Alpha1BGPPeer), Verbs = RbacVerb.List | RbacVerb.Watch, Component = "node")]
[EntityRbac(typeof(V1Secret), Verbs = RbacVerb.List | RbacVerb.Watch, Component = "node", Namespaced = true)]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "An agent runs once: what it owns is disposed when RunAsync ends.")]
public sealed class NodeAgent
{
    private readonly NodeAgentOptions options;
    private readonly ILogger logger;
    private readonly TimeProvider clock;
    private readonly EventRecorder events;
    private string? netfilterProblem;
    private readonly Informer<V1Alpha1IPAllocation> allocations;
    private readonly Informer<V1Service> services;
    private readonly Informer<V1EndpointSlice> slices;
    private readonly Informer<V1Node>? nodes;
    private readonly Informer<V1Alpha1IPPool> pools;
    private readonly Informer<V1Alpha1BGPPeer>? bgpPeers;
    private readonly Informer<V1Secret>? secrets;
    private readonly BgpAnnouncer? bgp;
    private readonly KernelSync kernel;
    private readonly VipDetails vipDetails;
    private readonly Layer2Announcement? layer2;
    private readonly NodeStatusPublisher status;
    private readonly HealthChecker health;
    private readonly HealthCondition healthCondition;
    private readonly IDisposable? ownedProber;
    private readonly System.Collections.Concurrent.ConcurrentQueue<HealthChange> healthChanges = new();
    private HashSet<(string Namespace, string Name)> healthPublished = [];
    private int driftRepaired;
    private SyncReport? lastCompleted;
    private ServedServices lastServed = ServedServices.Empty;
    private DateTime? lastCompletedAt;
    private readonly Channel<bool> changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private HashSet<ServiceWarning> warned = [];
    private string? reportedAnnouncementProblem;
    private string? reportedBgpProblem;
    private string? reportedConnectionSyncProblem;
    private int failedInARow;

    /// <param name="prober">How endpoints are health-checked; default: from this node over the network.</param>
    public NodeAgent(ApiConnection api, NodeDataplane dataplane, NodeAgentOptions options, ILoggerFactory loggers, TimeProvider? time = null, IProber? prober = null)
    {
        this.options = options;
        logger = loggers.CreateLogger<NodeAgent>();
        clock = time ?? TimeProvider.System;
        events = new EventRecorder(api, "ipvs-operator-node", loggers.CreateLogger<EventRecorder>(), clock);
        kernel = new KernelSync(dataplane, options, clock, logger);
        vipDetails = new VipDetails(dataplane.Ipvs, clock, logger);
        // Each change tells the index which VIPs it touched, so that the sync after it rebuilds only those.
        var index = kernel.Index;
        // The three kinds there is one of per Service share their repeated texts in the caches.
        var sharing = new CachedObjectSharing(new SharedStrings());
        allocations = Watch(new EntityClient<V1Alpha1IPAllocation>(api), e => Index(e, index.Put, index.Remove), sharing.Share);
        services = Watch(new EntityClient<V1Service>(api), e => Index(e, index.Put, index.Remove), sharing.Share);
        slices = Watch(new EntityClient<V1EndpointSlice>(api), e => Index(e, index.Put, index.Remove), sharing.Share);
        // A pool's announcement and consistent hashing reach every VIP of it: the next sync is whole.
        pools = Watch(new EntityClient<V1Alpha1IPPool>(api), _ => index.ChangedWhole());
        // Nodes matter to the node-port mode (their InternalIPs are the destinations) and to BGP (this node's labels and router ID).
        nodes = options.ForwardTo == ForwardTarget.NodePort || options.Bgp is not null ? Watch(new EntityClient<V1Node>(api), _ => index.ChangedWhole()) : null;
        if (options.Bgp is { } bgpOptions)
        {
            var speaker = dataplane.Bgp ?? throw new ArgumentException("BGP announcement is on but the dataplane has no BGP speaker", nameof(dataplane));
            // Peers and their Secrets shape the BGP plan only, made anew after every sync: nothing of the kernel's to rebuild.
            bgpPeers = Watch(new EntityClient<V1Alpha1BGPPeer>(api), _ => { });
            secrets = new Informer<V1Secret>(new EntityClient<V1Secret>(api), loggers.CreateLogger<Informer<V1Secret>>(), bgpOptions.SecretNamespace, time: clock);
            secrets.Subscribe(_ => changed.Writer.TryWrite(true));
            bgp = new BgpAnnouncer(speaker, bgpOptions, events, () => ThisNode, () => changed.Writer.TryWrite(true), loggers.CreateLogger<BgpAnnouncer>(), clock);
        }
        if (prober is null)
        {
            var network = new NetworkProber();
            (prober, ownedProber) = (network, network);
        }
        health = new HealthChecker(prober, clock, maxProbeTimeout: options.HealthCheckMaxTimeout);
        health.Changed += change =>
        {
            healthChanges.Enqueue(change);
            foreach (var (ns, name) in lastServed.Probed.GetValueOrDefault(change.Target) ?? [])
            {
                index.Changed(ns, name);
            }
            changed.Writer.TryWrite(true);
        };
        healthCondition = new HealthCondition(new ServiceConditions(api, logger, clock), options.NodeName);
        status = new NodeStatusPublisher(api, options.NodeName, new IPVSNodeSpec
        {
            Version = typeof(NodeAgent).Assembly.GetName().Version?.ToString(3),
            // Native AOT has no JIT to emit code with: which build runs shows, during a rollout from one to the other.
            Build = System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? IPVSNodeSpec.JitBuild : IPVSNodeSpec.NativeAotBuild,
            Announce = options.Announce,
            AnnounceInterface = options.Layer2?.Interface,
            BindInterface = options.BindInterface,
            ForwardTo = options.ForwardTo == ForwardTarget.NodePort ? "nodeport" : "endpoints",
            SyncPeriodSeconds = (int)options.SyncPeriod.TotalSeconds,
        }, loggers.CreateLogger<NodeStatusPublisher>(), clock);
        if (options.Layer2 is { } layer2Options)
        {
            layer2 = new Layer2Announcement(api, dataplane, options.NodeName, layer2Options, events,
                () => changed.Writer.TryWrite(true), () => kernel.NetfilterWorks, loggers, clock);
        }

        Informer<T> Watch<T>(EntityClient<T> client, Action<InformerEvent<T>> record, Action<T>? share = null)
            where T : class, IKubernetesObject<V1ObjectMeta>
        {
            var informer = new Informer<T>(client, loggers.CreateLogger<Informer<T>>(), time: clock) { BeforeCaching = share is null ? null : obj => Share(obj, share) };
            informer.Subscribe(change =>
            {
                record(change);
                changed.Writer.TryWrite(true);
            });
            return informer;
        }

        // Sharing only saves memory: an object it cannot walk is cached as it came.
        void Share<T>(T obj, Action<T> share)
        {
            try
            {
                share(obj);
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                logger.LogDebug("cannot share the texts of a {Kind} ({Error}): cached as it came", typeof(T).Name, error.Message);
            }
        }

        void Index<T>(InformerEvent<T> change, Action<T> put, Action<T> remove)
        {
            try
            {
                (change.Type == InformerEventType.Deleted ? remove : put)(change.Entity);
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                // An object nobody foresaw: the next sync is whole, which reads the caches instead.
                logger.LogWarning("cannot index a {Kind} change ({Error}): the next sync is whole", typeof(T).Name, error.Message);
                index.ChangedWhole();
            }
        }
    }

    /// <summary>
    /// Ready: the kernel has been synced with the cluster, and the last
    /// <see cref="NodeAgentOptions.FailedSyncsUntilUnready"/> syncs did not all fail (nor, with BGP,
    /// as many applies of the FRR configuration).
    /// </summary>
    public bool IsReady => kernel.HasSynced && failedInARow < options.FailedSyncsUntilUnready
        // A node whose FRR keeps refusing announces nothing it should: not ready either, so that a rollout stops there.
        && (bgp is null || bgp.FailuresInARow < options.FailedSyncsUntilUnready);

    /// <summary>Syncs that failed as a whole since the last one that completed.</summary>
    public int FailedSyncsInARow => failedInARow;

    /// <summary>When the loop last finished a sync, successful or not: liveness.</summary>
    public DateTimeOffset? LastAttempt { get; private set; }

    public SyncReport? LastReport { get; private set; }

    /// <summary>The addresses this node announces on the LAN now (empty without layer 2 announcement).</summary>
    public IReadOnlySet<IPAddressValue> Announcing => layer2?.Held ?? new HashSet<IPAddressValue>();

    /// <summary>The addresses this node announces over BGP now (empty without BGP, or while withdrawn).</summary>
    public IReadOnlySet<IPAddressValue> AnnouncingOverBgp => bgp?.Announcing ?? new HashSet<IPAddressValue>();

    /// <summary>Writes of this node's IPVSNode so far: on change, never once per sync or per VIP.</summary>
    public int StatusWrites => status.Writes;

    /// <summary>The resourceVersion of the IPVSNode's last status write, once counted in <see cref="StatusWrites"/>.</summary>
    internal string? StatusWrittenVersion => status.WrittenVersion;

    /// <summary>Raised after every sync (tests and the benchmark watch convergence through it).</summary>
    public event Action<SyncReport>? Synced;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watches = new List<Task> { allocations.RunAsync(stop.Token), services.RunAsync(stop.Token), slices.RunAsync(stop.Token), pools.RunAsync(stop.Token), status.RunAsync(stop.Token), health.RunAsync(stop.Token) };
        var announcing = Task.CompletedTask;
        var routing = Task.CompletedTask;
        foreach (var optional in new[] { nodes?.RunAsync(stop.Token), bgpPeers?.RunAsync(stop.Token), secrets?.RunAsync(stop.Token) })
        {
            watches.Add(optional ?? Task.CompletedTask);
        }
        try
        {
            await Task.WhenAll(allocations.WaitForSyncAsync(stop.Token), services.WaitForSyncAsync(stop.Token), slices.WaitForSyncAsync(stop.Token), pools.WaitForSyncAsync(stop.Token),
                nodes?.WaitForSyncAsync(stop.Token) ?? Task.CompletedTask, bgpPeers?.WaitForSyncAsync(stop.Token) ?? Task.CompletedTask, secrets?.WaitForSyncAsync(stop.Token) ?? Task.CompletedTask);
            logger.LogInformation("node agent on {Node}: caches synced; serving VIPs on {Interface}, forwarding to {Target}", options.NodeName, options.BindInterface, options.ForwardTo);
            await LoopAsync(() =>
            {
                announcing = JoinElection(stop.Token);
                routing = bgp?.RunAsync(stop.Token) ?? Task.CompletedTask;
            }, stop.Token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping. The kernel keeps serving what it holds: an agent restart never drops traffic.
        }
        finally
        {
            await stop.CancelAsync();
            // A clean stop hands the announced addresses over at once (the election steps down), and
            // withdraws the BGP routes while the kernel still serves what reaches this node.
            await announcing;
            await routing;
            if (bgp is not null)
            {
                await bgp.WithdrawAsync("the agent is stopping");
            }
            await Task.WhenAll(watches);
            health.Dispose();
            ownedProber?.Dispose();
        }
    }

    /// <summary>
    /// Joins the election for the VIPs: only after the first sync, so that a node announces an
    /// address only once its kernel serves it.
    /// </summary>
    private Task JoinElection(CancellationToken cancellationToken) => layer2?.RunAsync(cancellationToken) ?? Task.CompletedTask;

    private async Task LoopAsync(Action firstSynced, CancellationToken cancellationToken)
    {
        var joined = false;
        var trigger = SyncTrigger.Periodic;
        var nextPeriodic = clock.GetUtcNow();
        while (!cancellationToken.IsCancellationRequested)
        {
            if (trigger == SyncTrigger.Periodic)
            {
                nextPeriodic = clock.GetUtcNow() + options.SyncPeriod;
            }
            // A change (and a drain's end) syncs the VIPs it touched; the periodic sync and a retry, everything.
            var report = trigger is SyncTrigger.Change or SyncTrigger.Drain
                ? kernel.RunChanged(CurrentView, trigger, health.IsDown)
                : kernel.Run(CurrentView, trigger, health.IsDown);
            // A failed sync found nothing: what the last completed one found still stands.
            lastServed = report.Served ?? lastServed;
            var served = lastServed;
            layer2?.Offer(served);
            health.SetTargets(served.Probed);
            var serviceHealth = ServiceHealth.Of(served.Probed, health.IsDown);
            PublishEndpointHealth(serviceHealth);
            var failedBefore = failedInARow > 0;
            ReportNetfilter(report);
            CountFailures(report);
            NodeMetrics.Ready.Set(IsReady ? 1 : 0);
            status.Offer(StatusAfter(report));
            if (!joined && report.Failure is null)
            {
                joined = true;
                firstSynced();
            }
            if (joined)
            {
                OfferBgpPlan(served);
            }
            await ReportAsync(report, served, failedBefore, serviceHealth, cancellationToken);
            LastReport = report;
            LastAttempt = clock.GetUtcNow();
            Synced?.Invoke(report);
            trigger = await WaitForNextSyncAsync(nextPeriodic, failedInARow, cancellationToken);
        }
    }

    /// <summary>
    /// This node's BGP plan after a sync: only once the kernel serves (after the first sync), and
    /// withdrawn while syncs keep failing (the node is not ready), so that routers stop sending
    /// traffic to a node that may not serve it.
    /// </summary>
    private void OfferBgpPlan(ServedServices served)
    {
        if (bgp is null)
        {
            return;
        }
        var withdrawn = failedInARow < options.FailedSyncsUntilUnready ? null : $"its syncs are failing ({failedInARow} in a row)";
        bgp.Offer(BgpPlanner.Plan(options.NodeName, CachedNode, [.. bgpPeers!.Items], [.. secrets!.Items],
            served.Announced, kernel.NetfilterWorks, withdrawn, options.Bgp!.SecretNamespace));
    }

    /// <summary>This node's IPVSNode status after a sync.</summary>
    private IPVSNodeStatus StatusAfter(SyncReport report)
    {
        if (report.Failure is null)
        {
            // A periodic sync changes only what drifted, once the kernel has been programmed: the
            // first sync (periodic too) programs it from whatever it held, which is not drift.
            if (report.Trigger == SyncTrigger.Periodic && lastCompleted is not null)
            {
                driftRepaired = report.Writes;
            }
            (lastCompleted, lastCompletedAt) = (report, clock.GetUtcNow().UtcDateTime);
        }
        // A failed sync changed nothing it can count: the kernel holds what the last completed one made.
        var served = lastCompleted ?? report;
        var bound = kernel.LastDesired.Addresses.Order().ToList();
        var listed = bound.Take(IPVSNodeStatus.MaxListedVips).ToList();
        var details = vipDetails.Describe(listed, kernel.ProgrammedOn, health.IsDown, kernel.IsDraining);
        var announcing = Announcing;
        var routed = AnnouncingOverBgp;
        var problem = report.Outage?.Message ?? (report.Errors > 0 ? $"{report.Errors} kernel operations refused" : null);
        return new IPVSNodeStatus
        {
            Ready = IsReady,
            LastSync = new IPVSNodeSync
            {
                Time = clock.GetUtcNow().UtcDateTime,
                DurationMilliseconds = (long)report.Duration.TotalMilliseconds,
                Trigger = report.Trigger.ToString().ToLowerInvariant(),
                Result = report.Failure is not null ? "failed" : report.Errors > 0 || report.Outage is not null ? "partial" : "ok",
                KernelWrites = report.Writes,
                Message = problem,
            },
            LastSuccessfulSyncTime = lastCompletedAt,
            DriftRepaired = driftRepaired,
            VipsBound = bound.Count,
            VipsAnnounced = bound.Count(a => announcing.Contains(a) || routed.Contains(a)),
            Vips = [.. listed.Select(a => new IPVSNodeVip
            {
                Address = a.ToString(),
                Announced = AnnouncedBy(a, announcing, routed),
                ChoiceDigest = kernel.ChoiceDigests.GetValueOrDefault(a),
                VirtualServiceCount = details[a].Count,
                Services = details[a].Listed is { Count: > 0 } services ? services : null,
            })],
            ConnectionsSampledAt = vipDetails.SampledAt,
            VirtualServices = served.VirtualServices,
            Destinations = served.Destinations,
            DrainingDestinations = kernel.Draining,
            AnnouncementProblem = layer2?.Problem,
            Bgp = bgp?.Status,
            ConnectionSync = ConnectionSyncStatus(),
        };
    }

    private IPVSNodeConnectionSync? ConnectionSyncStatus() => kernel.ConnectionSync is not { } daemons ? null : new IPVSNodeConnectionSync
    {
        Interface = daemons.Options.Interface,
        SyncId = (int)daemons.Options.SyncId,
        Running = daemons.Running.Count == 0 ? null : string.Join(',', daemons.Running.Order().Select(r => r.ToString().ToLowerInvariant())),
        SyncedConnections = daemons.SyncedConnections,
        Problem = daemons.Problem,
    };

    private static string? AnnouncedBy(IPAddressValue address, IReadOnlySet<IPAddressValue> layer2, IReadOnlySet<IPAddressValue> routed) =>
        (layer2.Contains(address), routed.Contains(address)) switch
        {
            (true, true) => "l2,bgp",
            (true, false) => "l2",
            (false, true) => "bgp",
            _ => null,
        };

    private ClusterView CurrentView() => new([.. allocations.Items], [.. services.Items], [.. slices.Items], [.. nodes?.Items ?? []]) { Pools = [.. pools.Items] };

    /// <summary>
    /// A sync that failed as a whole (no IPVS, no permission, nft missing, a bug) is logged with its
    /// cause when an outage starts or its cause changes, not on every retry; the count in a row is a
    /// metric, and readiness turns false once it reaches the limit.
    /// </summary>
    private void CountFailures(SyncReport report)
    {
        if (report.Outage is not { } failure)
        {
            if (failedInARow > 0)
            {
                logger.LogInformation("sync ({Trigger}) completed again after {Failures} failed syncs", report.Trigger, failedInARow);
            }
            failedInARow = 0;
            NodeMetrics.FailedSyncsInARow.Set(0);
            return;
        }
        var sameCause = failedInARow > 0 && LastReport?.Outage?.Message == failure.Message;
        failedInARow++;
        NodeMetrics.FailedSyncsInARow.Set(failedInARow);
        if (!sameCause)
        {
            logger.LogError(failure, "sync ({Trigger}) failed; retrying with backoff", report.Trigger);
        }
        else
        {
            logger.LogDebug("sync ({Trigger}) failed again ({Failures} in a row): {Error}", report.Trigger, failedInARow, failure.Message);
        }
        if (failedInARow == options.FailedSyncsUntilUnready)
        {
            logger.LogError("{Failures} syncs in a row failed: the agent reports not ready until one completes", failedInARow);
        }
    }

    /// <summary>
    /// A netfilter table that cannot be written is said once (and its recovery): IPVS still serves
    /// what needs no source NAT, and the node announces only those addresses.
    /// </summary>
    private void ReportNetfilter(SyncReport report)
    {
        if (report.Failure is not null)
        {
            return; // the netfilter step did not run
        }
        var now = report.NetfilterFailure?.Message;
        if (now == netfilterProblem)
        {
            return;
        }
        netfilterProblem = now;
        if (now is null)
        {
            logger.LogInformation("the netfilter table is written again: source NAT and the VIP port filter are back");
        }
        else
        {
            logger.LogError("the netfilter table cannot be written: {Error}. Services that need source NAT are not served from this node, which announces only addresses that need none; the VIPs' other ports are not filtered", now);
        }
    }

    /// <summary>What the sync found worth telling users: Events on Services and on the Node, who announces.</summary>
    private async Task ReportAsync(SyncReport report, ServedServices served, bool failedBefore, Dictionary<(string, string), ServiceHealth> serviceHealth, CancellationToken cancellationToken)
    {
        await RecordWarningsAsync(served.Warnings, cancellationToken);
        await RecordHealthChangesAsync(served.Probed, cancellationToken);
        if (layer2 is not null)
        {
            await layer2.PublishAsync(served.Announced, services.Items, cancellationToken);
            await RecordAnnouncementProblemAsync(layer2.Problem, cancellationToken);
            // Without an announcing node (--announce=none) no node speaks for a Service: its health is in each node's metrics.
            await healthCondition.PublishAsync(serviceHealth, layer2.SpeaksFor, services.Items, cancellationToken);
        }
        if (bgp is not null)
        {
            await RecordBgpProblemAsync(bgp.Status.Problem, cancellationToken);
        }
        if (kernel.ConnectionSync is { } daemons && report.Failure is null)
        {
            await RecordConnectionSyncProblemAsync(daemons.Problem, cancellationToken);
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
        if (kernel.NextDrainExpiry is { } drainEnds && drainEnds < wake)
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

    /// <summary>This node's object as the cache holds it (null without the Nodes watch, or before it is seen).</summary>
    private V1Node? CachedNode => nodes?.Get(new ObjectKey(string.Empty, options.NodeName));

    private V1Node ThisNode => CachedNode
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

    /// <summary>A Warning Event on the Node when FRR cannot be configured, once per problem.</summary>
    private async Task RecordBgpProblemAsync(string? problem, CancellationToken cancellationToken)
    {
        if (problem is not null && problem != reportedBgpProblem)
        {
            await events.RecordAsync(ThisNode, EventType.Warning, "BgpConfigurationFailed", $"{problem}; the routes stay as FRR last held them", cancellationToken);
        }
        reportedBgpProblem = problem;
    }

    /// <summary>A Warning Event on the Node when a connection sync daemon cannot run, once per problem.</summary>
    private async Task RecordConnectionSyncProblemAsync(string? problem, CancellationToken cancellationToken)
    {
        if (problem is not null && problem != reportedConnectionSyncProblem)
        {
            await events.RecordAsync(ThisNode, EventType.Warning, "ConnectionSyncFailed",
                $"{problem}; connections do not survive a layer 2 failover to or from this node until that is mended (the node serves as before)", cancellationToken);
        }
        reportedConnectionSyncProblem = problem;
    }

    /// <summary>Healthy and unhealthy endpoints per health-checked Service, as this node's probes find them; a Service no longer checked loses its series.</summary>
    private void PublishEndpointHealth(Dictionary<(string Namespace, string Name), ServiceHealth> serviceHealth)
    {
        foreach (var gone in healthPublished.Where(s => !serviceHealth.ContainsKey(s)))
        {
            NodeMetrics.ServiceEndpoints.RemoveLabelled(gone.Namespace, gone.Name, "healthy");
            NodeMetrics.ServiceEndpoints.RemoveLabelled(gone.Namespace, gone.Name, "unhealthy");
        }
        foreach (var ((ns, name), found) in serviceHealth)
        {
            NodeMetrics.ServiceEndpoints.WithLabels(ns, name, "healthy").Set(found.Passing);
            NodeMetrics.ServiceEndpoints.WithLabels(ns, name, "unhealthy").Set(found.Failing.Count);
        }
        healthPublished = [.. serviceHealth.Keys];
    }

    /// <summary>An Event on every Service whose endpoint went down or came back, once per change.</summary>
    /// <param name="probed">The endpoints checked, each with the Services whose check it is.</param>
    private async Task RecordHealthChangesAsync(IReadOnlyDictionary<ProbeTarget, IReadOnlyCollection<(string Namespace, string Name)>> probed, CancellationToken cancellationToken)
    {
        while (healthChanges.TryDequeue(out var change))
        {
            var check = change.Target.Check;
            var kind = check.Protocol.ToString().ToLowerInvariant();
            var (type, reason, message) = change.IsUp
                ? (EventType.Normal, "EndpointHealthy", $"endpoint {change.Target} passes its {kind} health check again ({check.HealthyThreshold} in a row): it gets new connections")
                : (EventType.Warning, "EndpointUnhealthy", $"endpoint {change.Target} failed its {kind} health check {check.UnhealthyThreshold} times in a row ({change.Last.Failure}: {change.Last.Detail}): it gets no new connections while another endpoint passes, until it passes {check.HealthyThreshold} in a row");
            logger.Log(change.IsUp ? LogLevel.Information : LogLevel.Warning, "{Message}", message);
            foreach (var (ns, name) in probed.GetValueOrDefault(change.Target) ?? [])
            {
                if (services.Get(new ObjectKey(ns, name)) is { } service)
                {
                    await events.RecordAsync(service, type, reason, message, cancellationToken);
                }
            }
        }
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
}
