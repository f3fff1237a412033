using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>How often the node's IPVSNode is written: at once after the first sync, rate-limited after that.</summary>
public class NodeStatusPublisherTests : LocalClusterFixture
{
    [Test]
    public async Task The_sync_after_the_first_is_shown_at_once_and_a_third_change_waits_for_the_rate_limit()
    {
        await InstallCrdsAsync();
        await Client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "node-publish" } });
        var clock = new HeldClock();
        var publisher = new NodeStatusPublisher(ApiConnection.Of(Client), "node-publish", new IPVSNodeSpec(), NullLogger.Instance, clock);
        var objects = new EntityClient<V1Alpha1IPVSNode>(Client);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => publisher.RunAsync(stop.Token));
        async Task<int?> ShownAsync() => (await objects.GetAsync(null, "node-publish"))?.Status?.VipsBound;

        // An agent's first sync finds no VIPs yet; the next one, moments later, has the Services.
        publisher.Offer(new IPVSNodeStatus { Ready = true, VipsBound = 0 });
        await Eventually.TrueAsync(() => publisher.Writes == 1, "the first sync is written");
        publisher.Offer(new IPVSNodeStatus { Ready = true, VipsBound = 1 });
        await Eventually.TrueAsync(async () => await ShownAsync() == 1,
            "the second sync is shown without waiting for the rate limit (no timer of this clock fires)");

        // A third change in the same moment waits for the rate limit to give a write back.
        publisher.Offer(new IPVSNodeStatus { Ready = true, VipsBound = 2 });
        await Eventually.TrueAsync(() => clock.Waiting > 0, "the publisher waits for the rate limit");
        (await ShownAsync()).Should().Be(1, "the rate limit holds the third write");
        clock.Advance(NodeStatusPublisher.MinInterval);
        await Eventually.TrueAsync(async () => await ShownAsync() == 2, "written once the rate limit gave a write back");

        await stop.CancelAsync();
        await running;
    }

    [Test]
    public async Task Connection_counts_alone_ride_with_the_refresh_and_a_weight_change_is_written()
    {
        await InstallCrdsAsync();
        await Client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "node-counts" } });
        var clock = new HeldClock();
        var publisher = new NodeStatusPublisher(ApiConnection.Of(Client), "node-counts", new IPVSNodeSpec(), NullLogger.Instance, clock);
        var objects = new EntityClient<V1Alpha1IPVSNode>(Client);
        using var stop = new CancellationTokenSource();
        var running = Task.Run(() => publisher.RunAsync(stop.Token));
        async Task<IPVSNodeDestination?> ShownAsync() => (await objects.GetAsync(null, "node-counts"))?.Status?.Vips?.Single().Services?.Single().Destinations?.Single();
        IPVSNodeStatus Status(long weight, long active) => new()
        {
            Ready = true,
            VipsBound = 1,
            ConnectionsSampledAt = clock.GetUtcNow().UtcDateTime,
            Vips = [new IPVSNodeVip { Address = "192.0.2.1", VirtualServiceCount = 1, Services = [new IPVSNodeVirtualService
            {
                Protocol = "TCP", Port = 80, Scheduler = "rr", DestinationCount = 1,
                Destinations = [new IPVSNodeDestination { Address = "10.244.1.2", Port = 8080, Weight = weight, ActiveConnections = active, InactiveConnections = 0 }],
            }] }],
        };

        publisher.Offer(Status(weight: 1, active: 3));
        await Eventually.TrueAsync(async () => (await ShownAsync())?.ActiveConnections == 3, "the first status is written with its counts");
        clock.Advance(NodeStatusPublisher.MinInterval * NodeStatusPublisher.Burst);

        publisher.Offer(Status(weight: 1, active: 9));
        var latest = Status(weight: 1, active: 10);
        publisher.Offer(latest);
        await Eventually.TrueAsync(() => ReferenceEquals(publisher.Considered, latest), "the publisher weighed the latest offer");
        publisher.Writes.Should().Be(1, "new connection counts alone are no reason to write");
        clock.Advance(NodeStatusPublisher.Refresh);
        publisher.Offer(Status(weight: 1, active: 11));
        await Eventually.TrueAsync(async () => (await ShownAsync())?.ActiveConnections == 11, "the refresh writes the latest counts");

        publisher.Offer(Status(weight: 0, active: 11));
        await Eventually.TrueAsync(async () => (await ShownAsync())?.Weight == 0, "a weight change is written without waiting for the refresh");
        publisher.Writes.Should().Be(3);

        await stop.CancelAsync();
        await running;
    }

    /// <summary>A clock whose timers fire only when the test advances it, so a wait is seen, never timed.</summary>
    private sealed class HeldClock : TimeProvider
    {
        private readonly Lock gate = new();
        private readonly List<(DateTimeOffset Due, TimerCallback Callback, object? State)> timers = [];
        private DateTimeOffset now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

        public int Waiting
        {
            get { lock (gate) { return timers.Count; } }
        }

        public override DateTimeOffset GetUtcNow()
        {
            lock (gate) { return now; }
        }

        public void Advance(TimeSpan by)
        {
            List<(DateTimeOffset Due, TimerCallback Callback, object? State)> due;
            lock (gate)
            {
                now += by;
                due = timers.Where(t => t.Due <= now).ToList();
                timers.RemoveAll(t => t.Due <= now);
            }
            due.ForEach(t => t.Callback(t.State));
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (gate)
            {
                timers.Add((now + dueTime, callback, state));
            }
            return new Never();
        }

        private sealed class Never : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;
            public void Dispose() { }
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
