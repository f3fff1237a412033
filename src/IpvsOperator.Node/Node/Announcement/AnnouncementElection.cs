using System.Net.NetworkInformation;
using IpvsOperator.Addressing;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Rbac;
using IpvsOperator.Runtime.Watching;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Announcement;

/// <summary>
/// Per-address election among node agents, on Kubernetes Leases. Each agent renews a presence
/// Lease of its own; each address has a Lease naming its holder, written only when the address
/// moves (so the API load does not grow with the number of addresses). The holder of an address is
/// the live node that rendezvous hashing prefers; a node takes an address only when its holder is
/// no longer live, and hands it over when the preferred node is live again (spread after recovery).
/// No split brain: liveness is judged by when a Lease was last seen to change, on the observer's own
/// clock (as client-go's leader election does), and a node that cannot renew its presence within
/// the renew deadline withdraws every address, before the lease duration after which others take them.
/// A node starts announcing an address only once a write of its Lease, conditional on the version it
/// judged, has landed: a lagging watch (or its own last write, remembered) never makes it announce
/// an address that another node took meanwhile. Before it takes addresses, it asks the LAN whether
/// another device answers for them (<see cref="AnsweredElsewhere"/>), and takes none that is answered.
/// A node stopping cleanly releases its addresses and its presence at once. The Leases are read from
/// a watch (an informer's cache), so a round costs one write, the presence renewal, however many
/// addresses and nodes there are; a Lease that is malformed or names an address another Lease
/// already names is reported once and ignored.
/// <para>
/// With <see cref="Peers"/>, the agents also send each other heartbeats over the node network, so
/// that an API server outage does not withdraw every address: a holder that cannot renew keeps its
/// addresses while every peer it knew live is heard and none has reached the API server for a renew
/// deadline (nobody can take over without the API, and anyone who can would be heard). A node cut
/// off alone hears nobody and withdraws as before; a node still heard saying it keeps its addresses
/// is live to the others, so nobody takes them until it says it withdrew or falls silent for a
/// lease duration, longer than it takes a holder to notice that it hears a peer no more.
/// </para>
/// </summary>
// The election's Leases live in the agents' own namespace: no Lease elsewhere (kube-node-lease
// heartbeats, other components' leaders) can be read or written.
[EntityRbac(typeof(V1Lease), Verbs = RbacVerb.Get | RbacVerb.List | RbacVerb.Watch | RbacVerb.Create | RbacVerb.Update | RbacVerb.Delete, Component = "node", Namespaced = true)]
// RBAC cannot tell one Lease from another; these rules (a ValidatingAdmissionPolicy, on the node the
// agent's token is bound to) keep each agent to its own: it writes only the election's Leases, only
// its own presence, names only itself as the holder of an address, and releases only what it holds.
// Taking an address from another holder stays possible: that is failover, and whether the holder is
// live is the election's judgement, which no policy can see.
[WriteRule(typeof(V1Lease), "variables.written.metadata.name.startsWith('" + PresencePrefix + "') || variables.written.metadata.name.startsWith('" + AddressPrefix + "')",
    Component = "node", Message = "a node agent writes only the layer 2 election's Leases (" + PresencePrefix + "NODE, " + AddressPrefix + "ADDRESS)")]
[WriteRule(typeof(V1Lease), "!variables.written.metadata.name.startsWith('" + PresencePrefix + "') || (variables.written.metadata.name == '" + PresencePrefix + "' + variables.nodeName"
    + " && (request.operation == 'DELETE' || " + NewHolder + " == variables.nodeName))",
    Component = "node", Message = "a node agent writes only its own presence Lease, held by itself",
    MessageExpression = "'node ' + variables.nodeName + ' may write only its own presence Lease " + PresencePrefix + "' + variables.nodeName + ', held by itself, not Lease ' + variables.written.metadata.name")]
[WriteRule(typeof(V1Lease), "!variables.written.metadata.name.startsWith('" + AddressPrefix + "') || request.operation == 'DELETE'"
    + " || (" + NewHolder + " in [variables.nodeName, ''] && (request.operation == 'CREATE' || " + NewHolder + " == variables.nodeName || " + OldHolder + " in [variables.nodeName, '']))",
    Component = "node", Message = "a node agent names only itself as the holder of an address Lease, and releases only the addresses it holds",
    MessageExpression = "'node ' + variables.nodeName + ' may name only itself as the holder of Lease ' + variables.written.metadata.name + ', and release it only while it holds it'")]
internal sealed class AnnouncementElection(ApiConnection api, string nodeName, Layer2Options options, ILogger logger, TimeProvider? time = null)
{
    public const string ComponentLabel = "ipvsoperator.io/lease";
    public const string AddressAnnotation = "ipvsoperator.io/address";

    /// <summary>On a presence Lease: "false" while the node's source NAT does not work (it may then announce only addresses that need none).</summary>
    public const string SourceNatAnnotation = "ipvsoperator.io/source-nat";

    /// <summary>On a presence Lease: where the node's agent listens for peer heartbeats (address:port).</summary>
    public const string HeartbeatAnnotation = "ipvsoperator.io/heartbeat";

    /// <summary>
    /// On a presence Lease: the lease duration in milliseconds, which <c>leaseDurationSeconds</c> can
    /// only round up. Read only when it rounds up to that field (an agent without it, or a value
    /// that disagrees, is judged by the field: the longer wait).
    /// </summary>
    public const string LeaseDurationAnnotation = "ipvsoperator.io/lease-duration-ms";

    /// <summary>On an address Lease released with no holder: who held it last (for the Event of the next taker).</summary>
    public const string ReleasedByAnnotation = "ipvsoperator.io/released-by";
    private const string PresencePrefix = "ipvs-node-";
    private const string AddressPrefix = "ipvs-vip-";
    // A Lease's holder in the policy's CEL: "" when it has none.
    private const string NewHolder = "(has(object.spec) && has(object.spec.holderIdentity) ? object.spec.holderIdentity : '')";
    private const string OldHolder = "(has(oldObject.spec) && has(oldObject.spec.holderIdentity) ? oldObject.spec.holderIdentity : '')";
    // No retries inside a round: the next round is the retry, and a partition must show at once.
    private readonly EntityClient<V1Lease> leases = new(api, Polly.ResiliencePipeline.Empty);
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly Dictionary<string, (string ResourceVersion, DateTimeOffset SeenAt)> observed = [];
    // When the watch brought each Lease's latest version, on our clock: a change counts from its
    // arrival, not from the next round (which would add up to a retry period to every takeover).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string ResourceVersion, DateTimeOffset At)> arrived = new(StringComparer.Ordinal);
    // The next moment a peer now live would stop being so: a round is due then, not a retry period later.
    private DateTimeOffset? nextExpiry;
    private readonly Dictionary<string, V1Lease> written = new(StringComparer.Ordinal);
    private readonly HashSet<string> reported = new(StringComparer.Ordinal);
    // Every round weighs every address for every live node; the weights never change, so each is hashed once.
    private readonly Dictionary<(IPAddressValue, string), ulong> weights = [];
    private Informer<V1Lease>? cache;
    private readonly HashSet<IPAddressValue> held = [];
    private DateTimeOffset lastRenewed = DateTimeOffset.MinValue;
    // The held addresses change on the round's loop and, during an API outage, on the heartbeat loop.
    private readonly Lock gate = new();
    private volatile PeerState state = PeerState.Withdrawn;
    private int renewFailures;
    // The peers live (by Lease or heartbeat) at the last round that reached the API: the ones that must all be heard to keep announcing without it.
    private HashSet<string> knownPeers = [];
    private readonly HashSet<string> unheard = new(StringComparer.Ordinal);
    // The addresses the last probe found answered elsewhere, not taken.
    private Dictionary<IPAddressValue, PhysicalAddress> conflicts = [];

    /// <summary>The addresses this node announces now.</summary>
    public IReadOnlySet<IPAddressValue> Held => held;

    /// <summary>
    /// Asked before every round: false while this node cannot announce (no such interface, no
    /// default route). It then leaves the election as on a clean stop, so that the others take its
    /// addresses instead of leaving them with a node that cannot answer for them, and joins again
    /// when it can.
    /// </summary>
    public Func<bool> CanAnnounce { get; init; } = () => true;

    /// <summary>
    /// Asked before every renewal: false while this node's source NAT does not work. Written on its
    /// presence, so that every node leaves it out of the candidates of addresses that need it.
    /// </summary>
    public Func<bool> CanSourceNat { get; init; } = () => true;

    /// <summary>
    /// Asked each round about the addresses it would take: those another device on the LAN answers
    /// for, with that device's hardware address (by default none: nothing is asked).
    /// </summary>
    public Func<IReadOnlyCollection<IPAddressValue>, CancellationToken, Task<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>>> AnsweredElsewhere { get; init; } =
        (_, _) => Task.FromResult<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>>(new Dictionary<IPAddressValue, PhysicalAddress>());

    /// <summary>Raised when the addresses this node would take but another device answers for change, with them all.</summary>
    public event Action<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>>? ConflictsChanged;

    /// <summary>Heartbeats with the other agents (null: none; an API outage then withdraws every address). Set before <see cref="RunAsync"/>.</summary>
    public PeerHeartbeats? Peers { get; set; }

    /// <summary>What this node tells its peers: whether it reaches the API server, and if not whether it keeps its addresses.</summary>
    public PeerState State => state;

    /// <summary>Raised with the addresses held after every change (bind and announce them; withdraw the rest).</summary>
    public event Action<IReadOnlySet<IPAddressValue>>? HeldChanged;

    /// <summary>Raised after every round that renewed the presence, with the addresses held: keep announcing them.</summary>
    public event Action<IReadOnlySet<IPAddressValue>>? Renewed;

    /// <summary>Raised when this node takes an address, with the node that held it before (null: nobody, or unknown).</summary>
    public event Action<IPAddressValue, string?>? Took;

    /// <summary>
    /// Runs rounds until cancelled, then steps down. <paramref name="candidates"/> gives, per
    /// address, the nodes that may announce it (null: every live node; externalTrafficPolicy Local
    /// limits it to the nodes with endpoints) and whether it needs source NAT.
    /// </summary>
    public async Task RunAsync(Func<IReadOnlyDictionary<IPAddressValue, Candidacy>> candidates, CancellationToken cancellationToken)
    {
        cache = new Informer<V1Lease>(leases, logger, options.Namespace, ComponentLabel, clock);
        cache.Subscribe(change =>
        {
            if (change.Type == InformerEventType.Deleted)
            {
                arrived.TryRemove(change.Entity.Metadata.Name, out _);
                return;
            }
            arrived[change.Entity.Metadata.Name] = (change.Entity.Metadata.ResourceVersion, clock.GetUtcNow());
        });
        using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watching = Task.Run(() => cache.RunAsync(stopWatching.Token), CancellationToken.None);
        var heartbeats = Peers is null ? Task.CompletedTask : Task.WhenAll(
            Task.Run(() => Peers.ReceiveAsync(stopWatching.Token), CancellationToken.None),
            Task.Run(() => HeartbeatLoopAsync(stopWatching.Token), CancellationToken.None));
        try
        {
            while (!cache.HasSynced && !cancellationToken.IsCancellationRequested)
            {
                // No round before the Leases are known: a node that judged from nothing would take every address.
                await Task.Delay(options.RetryPeriod, clock, cancellationToken);
            }
            while (!cancellationToken.IsCancellationRequested)
            {
                // Rounds start a retry period apart, however long the last one took: a slow API
                // must not stretch the time in which a dead node's addresses are noticed.
                var started = clock.GetUtcNow();
                await RoundAsync(candidates(), cancellationToken);
                // Sooner when a peer's liveness runs out before then: a dead holder's addresses are
                // taken when its lease expires, not up to a retry period later.
                var next = started + options.RetryPeriod;
                if (nextExpiry is { } expiry && expiry > started && expiry < next)
                {
                    next = expiry;
                }
                var wait = next - clock.GetUtcNow();
                await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, clock, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await StepDownAsync();
        }
        finally
        {
            await stopWatching.CancelAsync();
            await watching;
            await heartbeats;
        }
    }

    /// <summary>One round: renew the presence, judge who is live, take, keep or hand over each address.</summary>
    public async Task RoundAsync(IReadOnlyDictionary<IPAddressValue, Candidacy> candidates, CancellationToken cancellationToken)
    {
        if (!CanAnnounce())
        {
            if (lastRenewed != DateTimeOffset.MinValue)
            {
                logger.LogWarning("{Node} cannot announce: leaving the election so that others take its addresses", nodeName);
                await StepDownAsync();
            }
            return;
        }
        var now = clock.GetUtcNow();
        // Every call of a round is bounded: a partition that hangs requests must not keep a holder
        // from withdrawing in time.
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // A slow renewal may take until the renew deadline (then this node withdraws), and at least
        // half of it: on a busy machine one slow write must not cost the addresses.
        var untilDeadline = lastRenewed + options.RenewDeadline - now;
        bounded.CancelAfter(untilDeadline > options.RenewDeadline / 2 ? untilDeadline : options.RenewDeadline / 2);
        try
        {
            await RenewPresenceAsync(now, bounded.Token);
            lock (gate)
            {
                if (state == PeerState.Keeping)
                {
                    logger.LogInformation("{Node} reaches the API server again; it kept {Count} addresses through {Elapsed} without it", nodeName, held.Count, now - lastRenewed);
                }
                if (renewFailures > 0)
                {
                    logger.LogInformation("{Node} renews its presence again after {Failures} failed rounds", nodeName, renewFailures);
                    renewFailures = 0;
                }
                lastRenewed = now;
                state = PeerState.Renewing;
                NodeMetrics.KeepingThroughOutage.Set(0);
                Renewed?.Invoke(held);
            }
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested)
        {
            if (renewFailures++ == 0)
            {
                // Once per outage: every round fails alike, and what matters (keep or withdraw) is logged when it happens.
                logger.LogWarning("cannot renew the presence of {Node}: {Error}; retrying every {Period}", nodeName, error.Message, options.RetryPeriod);
            }
            lock (gate)
            {
                KeepOrWithdraw(clock.GetUtcNow());
            }
            return;
        }

        try
        {
            await ElectAsync(candidates, now, bounded.Token);
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("{Node}: election round failed ({Error}); next round in {Period}", nodeName, error.Message, options.RetryPeriod);
        }
    }

    private async Task ElectAsync(IReadOnlyDictionary<IPAddressValue, Candidacy> candidates, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var all = Leases();
        var live = new HashSet<string>(StringComparer.Ordinal) { nodeName };
        var withoutSourceNat = new HashSet<string>(StringComparer.Ordinal);
        if (!CanSourceNat())
        {
            withoutSourceNat.Add(nodeName);
        }
        var endpoints = new Dictionary<string, System.Net.IPEndPoint>(StringComparer.Ordinal);
        // Until when each live peer stays live, by its Lease or its heartbeats.
        var liveUntil = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var lease in all.Where(l => l.Metadata.Name.StartsWith(PresencePrefix, StringComparison.Ordinal)))
        {
            var node = lease.Spec.HolderIdentity;
            if (string.IsNullOrEmpty(node))
            {
                continue;
            }
            if (lease.Metadata.Annotations?.TryGetValue(HeartbeatAnnotation, out var endpoint) == true && System.Net.IPEndPoint.TryParse(endpoint, out var parsed))
            {
                endpoints[node] = parsed;
            }
            if (LiveUntil(lease, now) is var until && now < until)
            {
                live.Add(node);
                liveUntil[node] = until;
                if (node != nodeName && lease.Metadata.Annotations?.TryGetValue(SourceNatAnnotation, out var nat) == true && nat == "false")
                {
                    withoutSourceNat.Add(node);
                }
            }
        }
        if (Peers is not null)
        {
            Peers.SetPeers(endpoints);
            // A peer that says it renews or keeps its addresses is live even when its Lease looks
            // stale here: it may be keeping them through an outage, or our watch may lag. Silent, it
            // stays live a lease duration (as a Lease would), one that said it keeps its addresses a
            // renew deadline longer: the time it takes to notice that it hears us no more and withdraw.
            foreach (var (node, heard) in Peers.HeardSince(now - options.LeaseDuration - options.RenewDeadline))
            {
                var liveFor = heard.State == PeerState.Keeping ? options.LeaseDuration + options.RenewDeadline : options.LeaseDuration;
                if (heard.State is PeerState.Renewing or PeerState.Keeping && now - heard.At < liveFor && endpoints.ContainsKey(node))
                {
                    live.Add(node);
                    liveUntil[node] = heard.At + liveFor > liveUntil.GetValueOrDefault(node) ? heard.At + liveFor : liveUntil[node];
                }
            }
        }
        // Those that must all be heard to keep the addresses through an outage: every peer live by
        // its Lease or by its heartbeats (on a busy machine a live peer's renewals may lag; leaving
        // it out would let this node keep its addresses without hearing it).
        knownPeers = live.Where(n => n != nodeName).ToHashSet(StringComparer.Ordinal);
        nextExpiry = liveUntil.Where(p => p.Key != nodeName).Select(p => (DateTimeOffset?)p.Value).Min();
        var byAddress = AddressLeases(all);
        // Forget Leases that are gone, so that what is remembered stays as large as what exists.
        var names = all.Select(l => l.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in observed.Keys.Where(n => !names.Contains(n)).ToList())
        {
            observed.Remove(gone);
        }

        var changed = false;
        var presentAfresh = new Dictionary<string, bool>(StringComparer.Ordinal);
        // Taken after the LAN has been asked about all of them at once (one probe window per round).
        var takes = new List<(IPAddressValue Address, V1Lease? Lease)>();
        foreach (var (address, candidacy) in candidates)
        {
            var lease = byAddress.GetValueOrDefault(address);
            var holder = lease?.Spec.HolderIdentity;
            var eligible = live.Where(n => (candidacy.Nodes is null || candidacy.Nodes.Contains(n)) && !(candidacy.NeedsSourceNat && withoutSourceNat.Contains(n)));
            var preferred = Rendezvous.Preferred(address, eligible, Weight);
            if (holder == nodeName)
            {
                if (preferred != nodeName)
                {
                    changed |= await HandOverAsync(address, lease!, cancellationToken);
                }
                else if (!held.Contains(address))
                {
                    // Our Lease, but we let the address go (an outage, a restart): what we see of the
                    // Lease may be our own last write or a lagging watch while another node took it
                    // meanwhile. Announce only after a write conditional on that version lands.
                    takes.Add((address, lease));
                }
            }
            else if (preferred == nodeName && (string.IsNullOrEmpty(holder) || !live.Contains(holder)))
            {
                // A holder that looks dead may only look so: a watch that lags makes every peer's
                // presence look stale, and a holder does not rewrite its address Leases, so the
                // conditional take would land. Its presence, read afresh, must confirm it first.
                if (!string.IsNullOrEmpty(holder) && await PresentAfreshAsync(holder, presentAfresh, now, cancellationToken))
                {
                    changed |= held.Remove(address);
                    continue;
                }
                takes.Add((address, lease));
            }
            else
            {
                changed |= held.Remove(address);
            }
        }
        IReadOnlyDictionary<IPAddressValue, PhysicalAddress>? answered;
        try
        {
            answered = await AnsweredElsewhereAsync(takes.Select(t => t.Address).ToList(), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The round's time ran out while asking: nothing is taken unasked, the next round asks again.
            answered = null;
        }
        foreach (var (address, lease) in answered is null ? [] : takes.Where(t => !answered.ContainsKey(t.Address)))
        {
            changed |= await TakeAsync(address, lease, cancellationToken);
        }
        changed |= held.RemoveWhere(a => !candidates.ContainsKey(a)) > 0;
        if (weights.Count > 2 * candidates.Count * live.Count)
        {
            weights.Clear(); // addresses or nodes gone: forget their weights
        }
        if (changed)
        {
            PublishHeld();
        }
        await DeleteUnusedAsync(byAddress.Where(l => !candidates.ContainsKey(l.Key)).Select(l => l.Value), now, cancellationToken);
    }

    /// <summary>
    /// Asks the LAN about the addresses this round would take; returns those another device
    /// answers for, which are not taken (two answers for one address would split its traffic).
    /// Says when an address starts or stops being answered elsewhere: it stays unannounced
    /// meanwhile, and the rounds ask again.
    /// </summary>
    private async Task<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>> AnsweredElsewhereAsync(IReadOnlyCollection<IPAddressValue> addresses, CancellationToken cancellationToken)
    {
        var answered = await AnsweredElsewhere(addresses, cancellationToken);
        var before = conflicts;
        foreach (var (address, device) in answered.Where(a => !before.ContainsKey(a.Key)))
        {
            logger.LogWarning("{Node} does not take {Address}: device {Device} answered its probe on the LAN (two answers would split the address's traffic); asking again every round",
                nodeName, address, Mac(device));
        }
        foreach (var address in before.Keys.Where(a => addresses.Contains(a) && !answered.ContainsKey(a)))
        {
            logger.LogInformation("{Node}: no other device answers for {Address} any more", nodeName, address);
        }
        // Judged by the addresses: a host with two interfaces on the LAN may answer from either, and
        // the device first named stays named (no new Event or condition for the same conflict).
        if (answered.Count != before.Count || answered.Keys.Any(a => !before.ContainsKey(a)))
        {
            SetConflicts(answered.ToDictionary(a => a.Key, a => before.GetValueOrDefault(a.Key) ?? a.Value));
        }
        return answered;
    }

    private void SetConflicts(Dictionary<IPAddressValue, PhysicalAddress> now)
    {
        conflicts = now;
        NodeMetrics.AddressConflicts.Set(now.Count);
        ConflictsChanged?.Invoke(now);
    }

    /// <summary>A hardware address as ip(8) and the LAN's switches print it.</summary>
    public static string Mac(PhysicalAddress address) => string.Join(':', address.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    private void PublishHeld()
    {
        lock (gate)
        {
            HeldChanged?.Invoke(held);
        }
    }

    /// <summary>
    /// Every retry period, whatever the API server does: says this node's state to its peers and,
    /// once it has not renewed for a renew deadline, keeps or withdraws its addresses.
    /// </summary>
    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            lock (gate)
            {
                KeepOrWithdraw(now);
                if (state == PeerState.Keeping)
                {
                    Renewed?.Invoke(held); // keeps the addresses' lifetimes on the interface fresh
                }
                ReportUnheard(now);
            }
            Peers!.Send(state);
            // Awake at the renew deadline too: a holder that has not renewed by then withdraws then,
            // not up to a retry period later (the margin before others take over is only the lease
            // duration less the deadline).
            var wait = options.RetryPeriod;
            lock (gate)
            {
                var deadline = lastRenewed + options.RenewDeadline - clock.GetUtcNow();
                if (state == PeerState.Renewing && deadline > TimeSpan.Zero && deadline < wait)
                {
                    wait = deadline + TimeSpan.FromMilliseconds(1);
                }
            }
            try
            {
                await Task.Delay(wait, clock, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Past the renew deadline without a renewal: keep the addresses while the peers confirm that
    /// nobody can take them over, else withdraw them before the lease expires (by then another node
    /// may announce them). Called with the gate held.
    /// </summary>
    private void KeepOrWithdraw(DateTimeOffset now)
    {
        if (state == PeerState.Withdrawn || now - lastRenewed < options.RenewDeadline)
        {
            return;
        }
        var why = held.Count > 0 ? WhyNotKeep(now) : null;
        if (held.Count > 0 && why is null)
        {
            if (state != PeerState.Keeping)
            {
                logger.LogWarning("{Node} cannot reach the API server for {Elapsed}; every peer ({Peers}) reports the same, so it keeps announcing its {Count} addresses",
                    nodeName, now - lastRenewed, string.Join(", ", knownPeers.Order()), held.Count);
                state = PeerState.Keeping;
                NodeMetrics.KeepingThroughOutage.Set(1);
            }
            return;
        }
        if (held.Count > 0)
        {
            logger.LogWarning("{Node} withdraws {Count} addresses: no renewal for {Elapsed}, and {Why}", nodeName, held.Count, now - lastRenewed, why);
        }
        state = PeerState.Withdrawn;
        NodeMetrics.KeepingThroughOutage.Set(0);
        held.Clear();
        HeldChanged?.Invoke(held);
    }

    /// <summary>Why this node may not keep its addresses without the API server; null: it may.</summary>
    private string? WhyNotKeep(DateTimeOffset now)
    {
        if (Peers is null)
        {
            return "peer heartbeats are off";
        }
        if (knownPeers.Count == 0)
        {
            return "no peer can confirm that the API server is down for everyone";
        }
        if (knownPeers.FirstOrDefault(p => Silent(p, now)) is { } silent)
        {
            return $"{silent} is not heard (it may reach the API server and take over)";
        }
        // A peer that renews while we cannot, for longer than it would take an outage shared with us
        // to stop it: the API server is up and this node is the one cut off.
        var outageSince = lastRenewed + options.RenewDeadline;
        if (Peers.HeardSince(now - HeardWithin).FirstOrDefault(p => p.Heard.RenewingSince is { } since && now - (since > outageSince ? since : outageSince) >= options.RenewDeadline) is { Node: { } renewing })
        {
            return $"{renewing} reaches the API server (this node is the one cut off)";
        }
        return null;
    }

    /// <summary>
    /// How recently a peer must have been heard to count: a renew deadline less a retry period.
    /// Checked every retry period, a holder notices a silent peer within a renew deadline, before
    /// that peer would take over (it waits a lease duration of silence, and longer after hearing
    /// that we keep our addresses).
    /// </summary>
    private TimeSpan HeardWithin => options.RenewDeadline - options.RetryPeriod;

    private bool Silent(string peer, DateTimeOffset now) => Peers!.Last(peer) is not { } heard || heard.At < now - HeardWithin;

    /// <summary>Says when a peer live by its Lease falls silent or is heard again: while one is silent, an API outage withdraws this node's addresses.</summary>
    private void ReportUnheard(DateTimeOffset now)
    {
        if (state != PeerState.Renewing)
        {
            return;
        }
        foreach (var peer in knownPeers)
        {
            var silent = Silent(peer, now);
            if (silent && unheard.Add(peer))
            {
                logger.LogWarning("{Node} does not hear peer {Peer} (listening for udp heartbeats on {Endpoint}): while it does not, an API server outage withdraws this node's addresses", nodeName, peer, Peers!.Endpoint);
            }
            else if (!silent && unheard.Remove(peer))
            {
                logger.LogInformation("{Node} hears peer {Peer} again", nodeName, peer);
            }
        }
        unheard.RemoveWhere(p => !knownPeers.Contains(p));
        NodeMetrics.PeersUnheard.Set(unheard.Count);
    }

    /// <summary>
    /// Deletes the Leases of addresses no longer allocated, once they have been quiet for a lease
    /// duration (an agent whose cache lags must not delete the Lease of an address just allocated).
    /// Every agent may do it; the delete is conditional on the version seen, so the first one wins.
    /// </summary>
    private async Task DeleteUnusedAsync(IEnumerable<V1Lease> unused, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var lease in unused.Where(l => !Live(l, now)))
        {
            try
            {
                await leases.DeleteAsync(options.Namespace, lease.Metadata.Name, resourceVersion: lease.Metadata.ResourceVersion, cancellationToken: cancellationToken);
                observed.Remove(lease.Metadata.Name);
                written.Remove(lease.Metadata.Name);
                logger.LogInformation("deleted the Lease {Lease}: its address is no longer allocated", lease.Metadata.Name);
            }
            catch (ApiStatusException error) when (error.IsConflict)
            {
                // Changed meanwhile (taken again, say): looked at again next round.
            }
        }
    }

    /// <summary>
    /// The Leases as the watch has them, each replaced by the one this node wrote last when that is
    /// newer: the watch may not have brought our own write back yet.
    /// </summary>
    private List<V1Lease> Leases()
    {
        var all = new Dictionary<string, V1Lease>(StringComparer.Ordinal);
        foreach (var lease in cache?.Items ?? [])
        {
            all[lease.Metadata.Name] = lease;
        }
        foreach (var (name, mine) in written.ToList())
        {
            if (!all.TryGetValue(name, out var seen) || Version(mine) > Version(seen))
            {
                all[name] = mine;
            }
            else
            {
                written.Remove(name); // the watch has caught up
            }
        }
        return [.. all.Values];
    }

    private ulong Weight(IPAddressValue address, string node)
    {
        if (!weights.TryGetValue((address, node), out var weight))
        {
            weights[(address, node)] = weight = Rendezvous.Weight(address, node);
        }
        return weight;
    }

    private void Wrote(V1Lease lease) => written[lease.Metadata.Name] = lease;

    /// <summary>A copy to change: the watch's objects are shared, and a write that fails must leave them as they were.</summary>
    private static V1Lease Copy(V1Lease lease) => ApiJson.Copy(lease);

    private static long Version(V1Lease lease) => long.TryParse(lease.Metadata.ResourceVersion, out var version) ? version : 0;

    /// <summary>The address Leases by address; one that names no address, or an address another already names, is reported once and left out.</summary>
    private Dictionary<IPAddressValue, V1Lease> AddressLeases(IEnumerable<V1Lease> all)
    {
        var byAddress = new Dictionary<IPAddressValue, V1Lease>();
        foreach (var lease in all.Where(l => l.Metadata.Name.StartsWith(AddressPrefix, StringComparison.Ordinal)).OrderBy(l => l.Metadata.Name, StringComparer.Ordinal))
        {
            if (AddressOf(lease) is not { } address)
            {
                ReportOnce(lease, $"its {AddressAnnotation} annotation is missing or not an address");
                continue;
            }
            // The Lease this node would make for the address wins over any other naming it.
            var own = lease.Metadata.Name == AddressPrefix + NameOf(address);
            if (byAddress.TryGetValue(address, out var other))
            {
                var (kept, dropped) = own ? (lease, other) : (other, lease);
                byAddress[address] = kept;
                ReportOnce(dropped, $"it names {address}, which Lease {kept.Metadata.Name} already names");
                continue;
            }
            byAddress[address] = lease;
        }
        return byAddress;
    }

    private void ReportOnce(V1Lease lease, string why)
    {
        if (reported.Add($"{lease.Metadata.Name}/{lease.Metadata.Uid}"))
        {
            logger.LogWarning("ignoring Lease {Namespace}/{Lease}: {Why}", options.Namespace, lease.Metadata.Name, why);
        }
    }

    /// <summary>
    /// Whether a node's presence Lease, read from the API server rather than the watch, is live:
    /// asked once per round and node, only before taking an address from a holder that looks dead.
    /// </summary>
    private async Task<bool> PresentAfreshAsync(string node, Dictionary<string, bool> asked, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!asked.TryGetValue(node, out var present))
        {
            var lease = await leases.GetAsync(options.Namespace, PresencePrefix + node, cancellationToken);
            asked[node] = present = lease is not null && !string.IsNullOrEmpty(lease.Spec.HolderIdentity) && Live(lease, now);
            if (present)
            {
                logger.LogInformation("{Node} does not take the addresses of {Holder}: its presence Lease, read afresh, is live (this node's watch lags)", nodeName, node);
            }
        }
        return present;
    }

    /// <summary>A Lease is live while it keeps changing: judged on our clock, never on the writer's.</summary>
    private bool Live(V1Lease lease, DateTimeOffset now) => now < LiveUntil(lease, now);

    /// <summary>
    /// Until when a Lease is live: its duration after this node first saw its current version. A
    /// change counts from when the watch brought it (after the write landed, so never before the
    /// holder renewed); a Lease seen for the first time counts from now: a restarted agent does not
    /// take over at once.
    /// </summary>
    private DateTimeOffset LiveUntil(V1Lease lease, DateTimeOffset now)
    {
        var name = lease.Metadata.Name;
        var version = lease.Metadata.ResourceVersion;
        if (!observed.TryGetValue(name, out var seen))
        {
            observed[name] = seen = (version, now);
        }
        else if (seen.ResourceVersion != version)
        {
            var at = arrived.TryGetValue(name, out var arrival) && arrival.ResourceVersion == version && arrival.At > seen.SeenAt && arrival.At <= now ? arrival.At : now;
            observed[name] = seen = (version, at);
        }
        return seen.SeenAt + DurationOf(lease, options.LeaseDuration);
    }

    /// <summary>
    /// The lease duration a Lease declares: to the millisecond when its annotation agrees with its
    /// whole seconds, else those seconds (without any, <paramref name="own"/> rounded up to seconds).
    /// </summary>
    internal static TimeSpan DurationOf(V1Lease lease, TimeSpan own)
    {
        var seconds = lease.Spec.LeaseDurationSeconds ?? (int)Math.Ceiling(own.TotalSeconds);
        if (lease.Metadata.Annotations?.TryGetValue(LeaseDurationAnnotation, out var text) == true
            && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var milliseconds)
            && milliseconds > (seconds - 1) * 1000L && milliseconds <= seconds * 1000L)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }
        return TimeSpan.FromSeconds(seconds);
    }

    private async Task RenewPresenceAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var name = PresencePrefix + nodeName;
        // From the watch: one write per round. A stale copy fails on its resourceVersion; then it is read afresh.
        var cached = Leases().FirstOrDefault(l => l.Metadata.Name == name);
        try
        {
            await RenewPresenceAsync(name, cached, now, cancellationToken);
        }
        catch (ApiStatusException error) when (error.IsConflict || error.IsNotFound || error.IsAlreadyExists)
        {
            await RenewPresenceAsync(name, await leases.GetAsync(options.Namespace, name, cancellationToken), now, cancellationToken);
        }
    }

    private async Task RenewPresenceAsync(string name, V1Lease? lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sourceNat = CanSourceNat() ? null : "false";
        if (lease is null)
        {
            lease = NewLease(name, nodeName, now, null);
            SetAnnotation(lease, LeaseDurationAnnotation, LeaseMilliseconds);
            SetAnnotation(lease, SourceNatAnnotation, sourceNat);
            SetAnnotation(lease, HeartbeatAnnotation, Peers?.Endpoint.ToString());
            Wrote(await leases.CreateAsync(lease, cancellationToken));
            return;
        }
        lease = Copy(lease);
        SetAnnotation(lease, LeaseDurationAnnotation, LeaseMilliseconds);
        SetAnnotation(lease, SourceNatAnnotation, sourceNat);
        SetAnnotation(lease, HeartbeatAnnotation, Peers?.Endpoint.ToString());
        lease.Spec.HolderIdentity = nodeName;
        lease.Spec.RenewTime = now.UtcDateTime;
        lease.Spec.LeaseDurationSeconds = (int)Math.Ceiling(options.LeaseDuration.TotalSeconds);
        Wrote(await leases.ReplaceAsync(lease, cancellationToken));
    }

    private async Task<bool> TakeAsync(IPAddressValue address, V1Lease? lease, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var previous = !string.IsNullOrEmpty(lease?.Spec.HolderIdentity) ? lease.Spec.HolderIdentity
            : lease?.Metadata.Annotations?.TryGetValue(ReleasedByAnnotation, out var released) == true ? released : null;
        try
        {
            if (lease is null)
            {
                Wrote(await leases.CreateAsync(NewLease(AddressPrefix + NameOf(address), nodeName, now, address), cancellationToken));
            }
            else
            {
                // Conditional on the version we judged: two nodes taking at once, one wins.
                lease = Copy(lease);
                if (lease.Spec.HolderIdentity != nodeName)
                {
                    lease.Spec.LeaseTransitions = (lease.Spec.LeaseTransitions ?? 0) + 1;
                }
                lease.Spec.HolderIdentity = nodeName;
                lease.Spec.AcquireTime = now.UtcDateTime;
                lease.Spec.RenewTime = now.UtcDateTime;
                Wrote(await leases.ReplaceAsync(lease, cancellationToken));
            }
            logger.LogInformation("{Node} now announces {Address}", nodeName, address);
            Took?.Invoke(address, previous);
            return held.Add(address);
        }
        catch (ApiStatusException error) when (error.IsConflict || error.IsAlreadyExists)
        {
            return false; // another node took it first; looked at again next round
        }
    }

    private async Task<bool> HandOverAsync(IPAddressValue address, V1Lease lease, CancellationToken cancellationToken)
    {
        var had = held.Remove(address);
        if (had)
        {
            PublishHeld(); // withdraw first, then let the preferred node take it
        }
        lease = Copy(lease);
        Release(lease);
        try
        {
            Wrote(await leases.ReplaceAsync(lease, cancellationToken));
        }
        catch (ApiStatusException error) when (error.IsConflict)
        {
            // Changed meanwhile: looked at again next round.
        }
        return false;
    }

    /// <summary>A clean stop: withdraw, release the address Leases and the presence, so others take over at once.</summary>
    private async Task StepDownAsync()
    {
        List<IPAddressValue> addresses;
        if (conflicts.Count > 0)
        {
            SetConflicts(new Dictionary<IPAddressValue, PhysicalAddress>()); // a node out of the election speaks for no address
        }
        lock (gate)
        {
            lastRenewed = DateTimeOffset.MinValue;
            state = PeerState.Withdrawn;
            addresses = [.. held];
            held.Clear();
            HeldChanged?.Invoke(held);
        }
        Peers?.Send(PeerState.Withdrawn);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            foreach (var address in addresses)
            {
                if (await leases.GetAsync(options.Namespace, AddressPrefix + NameOf(address), deadline.Token) is { } lease && lease.Spec.HolderIdentity == nodeName)
                {
                    Release(lease);
                    await leases.ReplaceAsync(lease, deadline.Token);
                }
            }
            await leases.DeleteAsync(options.Namespace, PresencePrefix + nodeName, cancellationToken: deadline.Token);
            written.Clear();
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            logger.LogWarning("{Node} could not release its Leases on stopping ({Error}); others take over when they expire", nodeName, error.Message);
        }
    }

    private void Release(V1Lease lease)
    {
        lease.Spec.HolderIdentity = string.Empty;
        lease.Metadata.Annotations ??= new Dictionary<string, string>();
        lease.Metadata.Annotations[ReleasedByAnnotation] = nodeName;
    }

    private static void SetAnnotation(V1Lease lease, string key, string? value)
    {
        if (value is null)
        {
            lease.Metadata.Annotations?.Remove(key);
            return;
        }
        lease.Metadata.Annotations ??= new Dictionary<string, string>();
        lease.Metadata.Annotations[key] = value;
    }

    private string LeaseMilliseconds => ((long)Math.Ceiling(options.LeaseDuration.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string NameOf(IPAddressValue address) => AllocationNames.For(address);

    /// <summary>The address an address Lease is about, from its annotation; null when it has none that parses.</summary>
    private static IPAddressValue? AddressOf(V1Lease lease) =>
        lease.Metadata.Annotations?.TryGetValue(AddressAnnotation, out var text) == true && IPAddressValue.TryParse(text, out var address) ? address : null;

    private V1Lease NewLease(string name, string holder, DateTimeOffset now, IPAddressValue? address) => new()
    {
        ApiVersion = "coordination.k8s.io/v1",
        Kind = "Lease",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = options.Namespace,
            Labels = new Dictionary<string, string> { [ComponentLabel] = address is null ? "presence" : "address" },
            Annotations = address is null ? null : new Dictionary<string, string> { [AddressAnnotation] = address.Value.ToString() },
        },
        Spec = new V1LeaseSpec
        {
            HolderIdentity = holder,
            LeaseDurationSeconds = (int)Math.Ceiling(options.LeaseDuration.TotalSeconds),
            AcquireTime = now.UtcDateTime,
            RenewTime = now.UtcDateTime,
            LeaseTransitions = 0,
        },
    };
}
