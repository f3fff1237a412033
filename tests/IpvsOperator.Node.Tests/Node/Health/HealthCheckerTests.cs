using IpvsOperator.Readers;
using System.Collections.Concurrent;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Probing;
using IpvsOperator.Node.Health;
using IpvsOperator.Tests.Dataplane.Probing;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Node.Health;

/// <summary>The probing schedule and verdicts, on a manual clock with a prober the test answers for.</summary>
public class HealthCheckerTests
{
    private static readonly HealthCheck Http = new(HealthCheckProtocol.Http, null, "/healthz", 200, 399,
        TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), HealthyThreshold: 2, UnhealthyThreshold: 3);

    private static ProbeTarget Target(int i, HealthCheck? check = null) => new(new IPAddressValue(IPFamily.IPv4, (uint)(0x0A000000 + i)), 8080, check ?? Http);

    private static readonly ProbeResult Refused = new(ProbeFailure.Refused, TimeSpan.FromMilliseconds(1), "connection refused");

    [Test]
    public async Task An_endpoint_is_down_after_its_unhealthy_threshold_and_up_after_its_healthy_one()
    {
        var clock = new ManualClock();
        var prober = new ScriptedProber();
        using var checker = new HealthChecker(prober, clock);
        var changes = new List<HealthChange>();
        checker.Changed += changes.Add;
        var target = Target(1);
        checker.SetTargets([target]);
        checker.IsDown(target).Should().BeFalse("a new target is up until probed down: its pod is Ready");

        async Task RoundAsync()
        {
            clock.Now += TimeSpan.FromSeconds(6); // one interval and its jitter
            await checker.ProbeDueAsync(CancellationToken.None);
        }

        prober.Answer = _ => Refused;
        await RoundAsync();
        await RoundAsync();
        checker.IsDown(target).Should().BeFalse("two failures are below the threshold of 3");
        changes.Should().BeEmpty();
        await RoundAsync();
        checker.IsDown(target).Should().BeTrue();
        changes.Should().ContainSingle().Which.Should().Be(new HealthChange(target, IsUp: false, Refused));
        checker.LastFailure(target)!.Detail.Should().Be("connection refused");

        prober.Answer = _ => ProbeResult.Ok(TimeSpan.FromMilliseconds(1));
        await RoundAsync();
        checker.IsDown(target).Should().BeTrue("one success is below the healthy threshold of 2");
        prober.Answer = _ => Refused;
        await RoundAsync();
        prober.Answer = _ => ProbeResult.Ok(TimeSpan.FromMilliseconds(1));
        await RoundAsync();
        checker.IsDown(target).Should().BeTrue("the successes must come in a row");
        await RoundAsync();
        checker.IsDown(target).Should().BeFalse();
        changes.Should().HaveCount(2);
        changes[1].IsUp.Should().BeTrue();
        prober.Calls[target.ToProbe()].Should().Be(7, "one probe per round");
    }

    [Test]
    public async Task Each_target_is_probed_on_its_own_interval_and_never_twice_at_once()
    {
        var clock = new ManualClock();
        var prober = new ScriptedProber();
        using var checker = new HealthChecker(prober, clock);
        var fast = Target(1, Http with { Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromMilliseconds(500) });
        var slow = Target(2, Http with { Interval = TimeSpan.FromSeconds(10) });
        checker.SetTargets([fast, slow]);
        for (var i = 0; i < 100; i++)
        {
            clock.Now += TimeSpan.FromMilliseconds(200);
            await checker.ProbeDueAsync(CancellationToken.None);
        }
        // 20 s: about 20 probes at 1 s ± 10%, about 2 at 10 s.
        prober.Calls[fast.ToProbe()].Should().BeInRange(17, 21);
        prober.Calls[slow.ToProbe()].Should().BeInRange(1, 3);

        // A probe that hangs is not started again while it runs.
        prober.Gate = new TaskCompletionSource();
        clock.Now += TimeSpan.FromSeconds(2);
        var hanging = checker.ProbeDueAsync(CancellationToken.None);
        var before = prober.Calls[fast.ToProbe()];
        clock.Now += TimeSpan.FromSeconds(2);
        // Not awaited before the gate opens: with jitter the slow target can fall due now, and its
        // probe waits at the same gate (awaiting it here hung the suite, 2 runs of 6).
        var next = checker.ProbeDueAsync(CancellationToken.None);
        prober.Calls[fast.ToProbe()].Should().Be(before);
        prober.Gate.SetResult();
        await Task.WhenAll(hanging, next);
    }

    [Test]
    public async Task The_same_endpoint_checked_the_same_way_by_many_Services_is_probed_once()
    {
        var clock = new ManualClock();
        var prober = new ScriptedProber();
        using var checker = new HealthChecker(prober, clock);
        // What the agent hands over: one target per endpoint and port of every Service, VIP and port.
        var fromServices = Enumerable.Range(0, 50).Select(_ => Target(7)).ToList();
        checker.SetTargets(fromServices.ToHashSet());
        checker.Count.Should().Be(1);
        clock.Now += TimeSpan.FromSeconds(6);
        await checker.ProbeDueAsync(CancellationToken.None);
        prober.Calls.Should().ContainSingle().Which.Value.Should().Be(1);

        // Checked another way (another path), it is another target.
        checker.SetTargets([Target(7), Target(7, Http with { Path = "/ready" })]);
        checker.Count.Should().Be(2);
    }

    [Test]
    public async Task Probes_run_at_most_the_concurrency_given_and_new_targets_are_spread_over_their_first_interval()
    {
        var clock = new ManualClock();
        var prober = new ScriptedProber();
        using var checker = new HealthChecker(prober, clock, maxConcurrentProbes: 4, random: new Random(7));
        checker.SetTargets(Enumerable.Range(0, 1000).Select(i => Target(i)).ToHashSet());

        clock.Now += TimeSpan.FromSeconds(1);
        await checker.ProbeDueAsync(CancellationToken.None);
        prober.Calls.Count.Should().BeInRange(150, 250, "a fifth of a 5 s interval has passed: about 200 of 1,000 are due, not all at once");
        prober.MostInFlight.Should().BeLessThanOrEqualTo(4);

        clock.Now += TimeSpan.FromSeconds(4);
        await checker.ProbeDueAsync(CancellationToken.None);
        prober.Calls.Count.Should().Be(1000, "every target is probed within its first interval");
    }

    [Test]
    public async Task A_target_dropped_while_its_probe_runs_is_forgotten_not_judged()
    {
        var clock = new ManualClock();
        var prober = new ScriptedProber { Answer = _ => Refused };
        using var checker = new HealthChecker(prober, clock);
        var changes = new List<HealthChange>();
        checker.Changed += changes.Add;
        var target = Target(1, Http with { UnhealthyThreshold = 1 });
        checker.SetTargets([target]);
        prober.Gate = new TaskCompletionSource();
        clock.Now += TimeSpan.FromSeconds(6);
        var probing = checker.ProbeDueAsync(CancellationToken.None);
        checker.SetTargets([]);
        prober.Gate.SetResult();
        await probing;
        changes.Should().BeEmpty();
        checker.IsDown(target).Should().BeFalse();
        checker.Count.Should().Be(0);
    }

    [Test]
    public async Task A_prober_that_throws_counts_as_a_failure_and_the_target_is_probed_again()
    {
        var clock = new ManualClock();
        var prober = new ScriptedProber { Answer = _ => throw new InvalidOperationException("a bug in a prober") };
        using var checker = new HealthChecker(prober, clock);
        var target = Target(1, Http with { UnhealthyThreshold = 2 });
        checker.SetTargets([target]);
        for (var round = 0; round < 2; round++)
        {
            clock.Now += TimeSpan.FromSeconds(6);
            await checker.ProbeDueAsync(CancellationToken.None);
        }
        prober.Calls[target.ToProbe()].Should().Be(2);
        checker.IsDown(target).Should().BeTrue();
        checker.LastFailure(target)!.Should().Be(new ProbeResult(ProbeFailure.Error, TimeSpan.Zero, "a bug in a prober"));
    }

    /// <summary>Endpoints of the given addresses accept and never answer (until the probe is cancelled); the others refuse at once.</summary>
    private sealed class SilentProber(Func<Probe, bool> silent) : IProber
    {
        private int silentInFlight;
        private int mostSilentInFlight;

        public System.Collections.Concurrent.ConcurrentDictionary<Probe, int> Answered { get; } = new();

        public int MostSilentInFlight => Volatile.Read(ref mostSilentInFlight);

        public async Task<ProbeResult> ProbeAsync(Probe probe, CancellationToken cancellationToken)
        {
            if (!silent(probe))
            {
                Answered.AddOrUpdate(probe, 1, (_, n) => n + 1);
                return Refused;
            }
            var now = Interlocked.Increment(ref silentInFlight);
            int seen;
            while ((seen = Volatile.Read(ref mostSilentInFlight)) < now && Interlocked.CompareExchange(ref mostSilentInFlight, now, seen) != seen)
            {
            }
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
                throw new InvalidOperationException("unreachable");
            }
            finally
            {
                Interlocked.Decrement(ref silentInFlight);
            }
        }
    }

    [Test]
    public async Task A_Service_whose_endpoints_never_answer_holds_only_its_share_of_the_probe_slots_and_another_s_dead_backend_is_still_found()
    {
        var clock = new ManualClock();
        var slow = Http with { Interval = TimeSpan.FromMinutes(1), Timeout = TimeSpan.FromMinutes(1) };
        var hostile = Enumerable.Range(0, 299).Select(i => Target(i, slow)).ToList();
        var victim = Target(1000, Http with { Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromMilliseconds(500), UnhealthyThreshold = 1 });
        var prober = new SilentProber(p => p != victim.ToProbe());
        // The operator's limit is far away here: what is measured is the sharing, not the limit.
        using var checker = new HealthChecker(prober, clock, maxConcurrentProbes: 64, maxProbeTimeout: TimeSpan.FromHours(1));
        var targets = hostile.ToDictionary(t => t, _ => (IReadOnlyCollection<(string, string)>)[("tenant-a", "slow")]);
        targets[victim] = [("tenant-b", "web")];
        checker.SetTargets(targets);
        using var stop = new CancellationTokenSource();

        clock.Now += TimeSpan.FromMinutes(2); // every target is due
        var round = checker.ProbeDueAsync(stop.Token);

        await Eventually.TrueAsync(() => checker.IsDown(victim), () => $"the other Service's dead backend is found while 299 probes hang; probed {prober.Answered.GetValueOrDefault(victim.ToProbe())} times");
        prober.MostSilentInFlight.Should().Be(HealthChecker.DefaultMaxProbesPerService, "the silent Service holds its share of the 64 slots, no more");
        await stop.CancelAsync();
        await round.WaitAsync(TimeSpan.FromSeconds(20) * Eventually.Scale);
    }

    [Test]
    public async Task No_probe_runs_past_the_operator_s_limit_whatever_timeout_its_Service_asks_for()
    {
        var clock = new ManualClock();
        var target = Target(1, Http with { Interval = TimeSpan.FromMinutes(1), Timeout = TimeSpan.FromMinutes(1), UnhealthyThreshold = 1 });
        var prober = new SilentProber(_ => true);
        using var checker = new HealthChecker(prober, clock, maxProbeTimeout: TimeSpan.FromMilliseconds(100));
        checker.SetTargets([target]);
        clock.Now += TimeSpan.FromMinutes(2);

        await checker.ProbeDueAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20) * Eventually.Scale);

        checker.IsDown(target).Should().BeTrue();
        checker.LastFailure(target).Should().Be(new ProbeResult(ProbeFailure.Timeout, TimeSpan.FromMilliseconds(100),
            "no answer within 100 ms, the longest this node lets a probe run (--health-check-max-timeout)"));
    }
}

