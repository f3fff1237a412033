using IpvsOperator.Runtime.Queue;
using IpvsOperator.Runtime.Resilience;

namespace IpvsOperator.Tests.Runtime;

public class WorkQueueTests
{
    [Test]
    public async Task A_key_added_twice_is_handed_out_once()
    {
        using var queue = new WorkQueue<string>();
        queue.Add("a");
        queue.Add("a");
        queue.Add("b");

        (await queue.TakeAsync(CancellationToken.None)).Should().Be("a");
        (await queue.TakeAsync(CancellationToken.None)).Should().Be("b");
        queue.Depth.Should().Be(0);
    }

    [Test]
    public async Task A_key_added_while_processing_comes_back_only_after_Done()
    {
        using var queue = new WorkQueue<string>();
        queue.Add("a");
        var key = await queue.TakeAsync(CancellationToken.None);

        queue.Add("a");
        queue.Depth.Should().Be(0, "a key being processed is not handed to a second worker");
        using var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var second = () => queue.TakeAsync(shortWait.Token);
        await second.Should().ThrowAsync<OperationCanceledException>();

        queue.Done(key);
        (await queue.TakeAsync(CancellationToken.None)).Should().Be("a");
    }

    [Test]
    public void Failures_back_off_exponentially_with_jitter_and_are_forgotten_on_success()
    {
        using var queue = new WorkQueue<string>(new Backoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10)));

        var delays = Enumerable.Range(0, 6).Select(_ => queue.AddRateLimited("k").TotalMilliseconds).ToList();

        for (var i = 0; i < delays.Count; i++)
        {
            var nominal = Math.Min(10_000, 100 * Math.Pow(2, i));
            delays[i].Should().BeInRange(nominal * 0.5, nominal * 1.5, $"failure {i + 1} waits about {nominal} ms");
        }
        queue.Failures("k").Should().Be(6);
        queue.Forget("k");
        queue.Failures("k").Should().Be(0);
        queue.AddRateLimited("k").TotalMilliseconds.Should().BeLessThan(150);
    }

    [Test]
    public async Task Delayed_adds_of_one_key_coalesce_and_the_key_keeps_coming_back()
    {
        // Timers that fire a little before their due time by the clock, as real ones may.
        using var queue = new WorkQueue<string>(time: new EarlyTimers(TimeSpan.FromMilliseconds(3)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var round = 0; round < 50; round++)
        {
            queue.AddAfter("k", TimeSpan.FromMilliseconds(5 + round % 3));
            if (round % 2 == 0)
            {
                queue.AddAfter("k", TimeSpan.FromMilliseconds(20)); // later than pending: coalesced away
            }
            var key = await queue.TakeAsync(timeout.Token);
            key.Should().Be("k", $"round {round}: a delayed key is always handed out again");
            queue.Done(key);
        }
        queue.Depth.Should().Be(0, "the later adds coalesced into the pending one");
    }

    [Test]
    public async Task AddAfter_hands_the_key_out_after_the_delay()
    {
        using var queue = new WorkQueue<string>();
        queue.AddAfter("later", TimeSpan.FromMilliseconds(50));

        queue.Depth.Should().Be(0);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        (await queue.TakeAsync(timeout.Token)).Should().Be("later");
    }

    private sealed class EarlyTimers(TimeSpan early) : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            base.CreateTimer(callback, state, dueTime > early ? dueTime - early : TimeSpan.Zero, period);
    }
}
