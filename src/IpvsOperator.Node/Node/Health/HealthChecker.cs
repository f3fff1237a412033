using IpvsOperator.Dataplane.Probing;

namespace IpvsOperator.Node.Health;

/// <summary>
/// Probes the endpoints the node serves with a health check: each target on its own interval, the
/// first probe of a new one at a random point of its first interval and every later one with ±10%
/// of jitter (so that a thousand endpoints added at once are not probed in one burst), at most
/// <c>maxConcurrentProbes</c> at a time. The slots are shared fairly between Services: a free slot
/// goes to the waiting Service with the fewest probes running, and none holds more than
/// <c>maxProbesPerService</c>; no probe lasts longer than <c>maxProbeTimeout</c>, whatever timeout its
/// Service asks for. So a Service whose endpoints accept and never answer delays only its own checks
/// (it held all 64 slots for its one-minute timeout, and another Service's dead backend went unnoticed
/// for 100 s). A verdict that changes is raised as <see cref="Changed"/>; the agent then syncs, and
/// gives a down endpoint weight 0.
/// </summary>
internal sealed class HealthChecker(IProber prober, TimeProvider clock, int maxConcurrentProbes = 64, Random? random = null,
    int maxProbesPerService = HealthChecker.DefaultMaxProbesPerService, TimeSpan? maxProbeTimeout = null) : IDisposable
{
    public const int DefaultMaxProbesPerService = 8;
    public static readonly TimeSpan DefaultMaxProbeTimeout = TimeSpan.FromSeconds(5);

    private const double Jitter = 0.1;

    private sealed class Entry(ProbeTarget target, string owner)
    {
        public EndpointHealth Health { get; } = new(target.Check.HealthyThreshold, target.Check.UnhealthyThreshold);
        public DateTimeOffset Due { get; set; }
        public bool InFlight { get; set; }

        /// <summary>Whose share of the slots its probes take: the first of the Services checking it.</summary>
        public string Owner { get; set; } = owner;
    }

    private readonly Dictionary<ProbeTarget, Entry> targets = [];
    private readonly Random random = random ?? Random.Shared;
    private readonly TimeSpan probeLimit = maxProbeTimeout ?? DefaultMaxProbeTimeout;
    private readonly Lock slotGate = new();
    private readonly Dictionary<string, List<TaskCompletionSource>> waiting = [];
    private readonly Dictionary<string, int> running = [];
    private int runningTotal;

    public event Action<HealthChange>? Changed;

    public int Count
    {
        get
        {
            lock (targets)
            {
                return targets.Count;
            }
        }
    }

    /// <summary>The targets to probe from now on, all in one share of the slots: new ones are added (up until probed down), gone ones forgotten.</summary>
    public void SetTargets(IReadOnlyCollection<ProbeTarget> wanted) =>
        SetTargets(wanted.Distinct().ToDictionary(t => t, _ => (IReadOnlyCollection<(string, string)>)[]));

    /// <summary>The targets to probe from now on, each with the Services (namespace, name) whose check it is: their share of the slots.</summary>
    public void SetTargets(IReadOnlyDictionary<ProbeTarget, IReadOnlyCollection<(string Namespace, string Name)>> wanted)
    {
        var now = clock.GetUtcNow();
        lock (targets)
        {
            foreach (var gone in targets.Keys.Where(t => !wanted.ContainsKey(t)).ToList())
            {
                targets.Remove(gone);
            }
            foreach (var (target, services) in wanted)
            {
                var owner = services.Select(s => $"{s.Namespace}/{s.Name}").Order(StringComparer.Ordinal).FirstOrDefault() ?? string.Empty;
                if (targets.TryGetValue(target, out var known))
                {
                    known.Owner = owner;
                }
                else
                {
                    targets[target] = new Entry(target, owner) { Due = now + target.Check.Interval * random.NextDouble() };
                }
            }
        }
    }

    /// <summary>Down: failed its unhealthy threshold in a row and not yet back. An unknown target is not down.</summary>
    public bool IsDown(ProbeTarget target)
    {
        lock (targets)
        {
            return targets.TryGetValue(target, out var entry) && !entry.Health.IsUp;
        }
    }

    /// <summary>The last failure of a down target, for messages.</summary>
    public ProbeResult? LastFailure(ProbeTarget target)
    {
        lock (targets)
        {
            return targets.TryGetValue(target, out var entry) ? entry.Health.LastFailure : null;
        }
    }

    /// <summary>Starts a probe of every target that is due and not being probed, and completes when they have all answered.</summary>
    public Task ProbeDueAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        List<(ProbeTarget Target, Entry Entry)> due;
        lock (targets)
        {
            due = [.. targets.Where(t => !t.Value.InFlight && t.Value.Due <= now).Select(t => (t.Key, t.Value))];
            foreach (var (target, entry) in due)
            {
                entry.InFlight = true;
                entry.Due = now + target.Check.Interval * (1 + Jitter * (2 * random.NextDouble() - 1));
            }
        }
        return Task.WhenAll(due.Select(d => ProbeOneAsync(d.Target, d.Entry, cancellationToken)));
    }

    /// <summary>Probes until cancelled, waking for the next target that falls due (at least every second).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var inFlight = new List<Task>();
        while (!cancellationToken.IsCancellationRequested)
        {
            inFlight.RemoveAll(t => t.IsCompleted);
            inFlight.Add(ProbeDueAsync(cancellationToken));
            try
            {
                await Task.Delay(UntilNextDue(), clock, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        await Task.WhenAll(inFlight).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private TimeSpan UntilNextDue()
    {
        var now = clock.GetUtcNow();
        lock (targets)
        {
            var next = targets.Values.Where(e => !e.InFlight).Select(e => e.Due - now).DefaultIfEmpty(TimeSpan.FromSeconds(1)).Min();
            return next < TimeSpan.FromMilliseconds(20) ? TimeSpan.FromMilliseconds(20) : next > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : next;
        }
    }

    private async Task ProbeOneAsync(ProbeTarget target, Entry entry, CancellationToken cancellationToken)
    {
        ProbeResult result;
        var owner = entry.Owner;
        try
        {
            await TakeSlotAsync(owner, cancellationToken);
            try
            {
                result = await ProbeWithinLimitAsync(target, cancellationToken);
            }
            finally
            {
                ReturnSlot(owner);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lock (targets)
            {
                entry.InFlight = false;
            }
            return;
        }
        catch (Exception unexpected)
        {
            // A prober's bug must not stop this target's probes (it would stay in flight forever): it counts as a failure.
            result = new ProbeResult(ProbeFailure.Error, TimeSpan.Zero, unexpected.Message);
        }
        NodeMetrics.HealthProbes.WithLabels(result.Healthy ? "ok" : result.Failure.ToString().ToLowerInvariant()).Inc();
        NodeMetrics.HealthProbeDuration.Observe(result.Latency.TotalSeconds);
        HealthChange? change = null;
        lock (targets)
        {
            entry.InFlight = false;
            // A target dropped while its probe ran is forgotten, not judged.
            if (targets.TryGetValue(target, out var current) && current == entry && entry.Health.Record(result))
            {
                change = new HealthChange(target, entry.Health.IsUp, result);
            }
        }
        if (change is not null)
        {
            Changed?.Invoke(change);
        }
    }

    /// <summary>
    /// A probe never runs past the operator's limit, even when its Service asks for longer or the
    /// prober does not keep its own timeout: a slot is held for a bounded time.
    /// </summary>
    private async Task<ProbeResult> ProbeWithinLimitAsync(ProbeTarget target, CancellationToken cancellationToken)
    {
        var limit = target.Check.Timeout < probeLimit ? target.Check.Timeout : probeLimit;
        using var deadline = new CancellationTokenSource(limit, clock);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            return await prober.ProbeAsync(target.ToProbe(), either.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(ProbeFailure.Timeout, limit, limit < target.Check.Timeout
                ? $"no answer within {limit.TotalMilliseconds:F0} ms, the longest this node lets a probe run (--health-check-max-timeout)"
                : $"no answer within {limit.TotalMilliseconds:F0} ms");
        }
    }

    /// <summary>Waits for a slot: granted at once when one is free and the Service is within its share, else in fair order.</summary>
    private async Task TakeSlotAsync(string owner, CancellationToken cancellationToken)
    {
        var granted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (slotGate)
        {
            (waiting.TryGetValue(owner, out var queue) ? queue : waiting[owner] = []).Add(granted);
            GrantSlots();
        }
        using var registration = cancellationToken.Register(() =>
        {
            lock (slotGate)
            {
                // Still waiting: leave the queue. Already granted: the probe sees the cancellation and returns the slot.
                if (waiting.TryGetValue(owner, out var queue) && queue.Remove(granted))
                {
                    granted.TrySetCanceled(cancellationToken);
                    if (queue.Count == 0)
                    {
                        waiting.Remove(owner);
                    }
                }
            }
        });
        await granted.Task;
    }

    private void ReturnSlot(string owner)
    {
        lock (slotGate)
        {
            runningTotal--;
            // Owners are Services, which come and go: only those with a probe running are kept.
            if (--running[owner] == 0)
            {
                running.Remove(owner);
            }
            GrantSlots();
        }
    }

    /// <summary>While a slot is free: to the waiting Service with the fewest probes running, below its share. Under slotGate.</summary>
    private void GrantSlots()
    {
        while (runningTotal < maxConcurrentProbes)
        {
            string? next = null;
            var fewest = int.MaxValue;
            foreach (var (owner, queue) in waiting)
            {
                var now = running.GetValueOrDefault(owner);
                if (queue.Count > 0 && now < maxProbesPerService && now < fewest)
                {
                    (next, fewest) = (owner, now);
                }
            }
            if (next is null)
            {
                return;
            }
            var queued = waiting[next];
            var granted = queued[0];
            queued.RemoveAt(0);
            if (queued.Count == 0)
            {
                waiting.Remove(next);
            }
            running[next] = fewest + 1;
            runningTotal++;
            granted.TrySetResult();
        }
    }

    public void Dispose()
    {
        // Nothing is held that outlives the probes: kept for the agent, which disposes what it owns.
    }
}
