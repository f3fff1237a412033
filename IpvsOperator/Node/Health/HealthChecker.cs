namespace IpvsOperator.Node.Health;

/// <summary>
/// Probes the endpoints the node serves with a health check: each target on its own interval, the
/// first probe of a new one at a random point of its first interval and every later one with ±10%
/// of jitter (so that a thousand endpoints added at once are not probed in one burst), at most
/// <c>maxConcurrentProbes</c> at a time. A verdict that changes is raised as <see cref="Changed"/>;
/// the agent then syncs, and gives a down endpoint weight 0.
/// </summary>
public sealed class HealthChecker(IProber prober, TimeProvider clock, int maxConcurrentProbes = 64, Random? random = null) : IDisposable
{
    private const double Jitter = 0.1;

    private sealed class Entry(ProbeTarget target)
    {
        public EndpointHealth Health { get; } = new(target.Check.HealthyThreshold, target.Check.UnhealthyThreshold);
        public DateTimeOffset Due { get; set; }
        public bool InFlight { get; set; }
    }

    private readonly Dictionary<ProbeTarget, Entry> targets = [];
    private readonly SemaphoreSlim slots = new(maxConcurrentProbes);
    private readonly Random random = random ?? Random.Shared;

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

    /// <summary>The targets to probe from now on: new ones are added (up until probed down), gone ones forgotten.</summary>
    public void SetTargets(IReadOnlyCollection<ProbeTarget> wanted)
    {
        var now = clock.GetUtcNow();
        lock (targets)
        {
            foreach (var gone in targets.Keys.Where(t => !wanted.Contains(t)).ToList())
            {
                targets.Remove(gone);
            }
            foreach (var target in wanted.Where(t => !targets.ContainsKey(t)))
            {
                targets[target] = new Entry(target) { Due = now + target.Check.Interval * random.NextDouble() };
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
        try
        {
            await slots.WaitAsync(cancellationToken);
            try
            {
                result = await prober.ProbeAsync(target, cancellationToken);
            }
            finally
            {
                slots.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
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

    public void Dispose() => slots.Dispose();
}
