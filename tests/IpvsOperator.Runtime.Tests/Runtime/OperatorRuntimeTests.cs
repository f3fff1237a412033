using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Events;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Resilience;
using IpvsOperator.Runtime.Watching;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Runtime;

/// <summary>The runtime against LocalCluster, with faults injected.</summary>
public class OperatorRuntimeTests : LocalClusterFixture
{
    private static V1ConfigMap Map(string name, string ns, string value = "0") =>
        new() { Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns }, Data = new Dictionary<string, string> { ["input"] = value } };

    private EntityClient<V1ConfigMap> Maps => new(Client);

    private static async Task<(Task Run, CancellationTokenSource Stop)> StartAsync(Func<CancellationToken, Task> run)
    {
        var stop = new CancellationTokenSource();
        var task = Task.Run(() => run(stop.Token));
        await Task.Yield();
        return (task, stop);
    }

    private static async Task StopAsync((Task Run, CancellationTokenSource Stop) running)
    {
        await running.Stop.CancelAsync();
        await running.Run.WaitAsync(TimeSpan.FromSeconds(20));
        running.Stop.Dispose();
    }

    [Test]
    public async Task Transient_API_failures_are_retried()
    {
        var ns = await NewNamespaceAsync();
        await Maps.CreateAsync(Map("retried", ns));
        Server.Faults.FailNext(2, "get", "configmaps", HttpStatusCode.InternalServerError);

        var read = await Maps.GetAsync(ns, "retried");

        read!.Data["input"].Should().Be("0");
        Server.Faults.FailNext(1, "get", "configmaps", HttpStatusCode.Conflict);
        var conflict = () => Maps.GetAsync(ns, "retried");
        (await conflict.Should().ThrowAsync<ApiStatusException>()).Which.IsConflict.Should().BeTrue("a conflict is the caller's to resolve, not retried blindly");
    }

    [Test]
    public async Task A_dropped_watch_loses_no_change()
    {
        var ns = await NewNamespaceAsync();
        var informer = new Informer<V1ConfigMap>(Maps, NullLogger.Instance, ns);
        var running = await StartAsync(informer.RunAsync);
        await informer.WaitForSyncAsync(CancellationToken.None);

        for (var i = 0; i < 30; i++)
        {
            await Maps.CreateAsync(Map($"m{i}", ns, $"{i}"));
            if (i % 5 == 0)
            {
                Server.CloseAllWatches();
            }
        }
        for (var i = 0; i < 30; i += 3)
        {
            await Maps.PatchAsync(ns, $"m{i}", """{"data":{"input":"changed"}}""");
            Server.CloseAllWatches();
        }

        var truth = await Maps.ListAllAsync(ns);
        await Eventually.TrueAsync(() => Snapshot(informer).SetEquals(truth.Items.Select(m => (m.Metadata.Name, m.Metadata.ResourceVersion))),
            "the cache equals the server's state");
        informer.Relists.Should().Be(1, "resuming from the last resourceVersion needs no relist");
        await StopAsync(running);
    }

    [Test]
    public async Task A_watch_that_goes_silent_past_its_timeout_is_taken_for_dead_and_watched_again()
    {
        var ns = await NewNamespaceAsync();
        var informer = new Informer<V1ConfigMap>(Maps, NullLogger.Instance, ns) { WatchTimeout = TimeSpan.FromSeconds(1), WatchGrace = TimeSpan.FromSeconds(1) };
        var running = await StartAsync(informer.RunAsync);
        await informer.WaitForSyncAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => Server.OpenWatches("configmaps", ns) == 1, "the informer is watching");

        // The connection goes half-open: the server sends nothing more, not even the end of the watch.
        Server.StallOpenWatches();
        await Maps.CreateAsync(Map("while-silent", ns));

        await Eventually.TrueAsync(() => Snapshot(informer).Any(s => s.Name == "while-silent"),
            "after its timeout and the grace the informer gives the silent watch up, watches again, and sees the change");
        informer.Relists.Should().Be(1, "it resumes from where it was: no relist");
        await StopAsync(running);
    }

    [Test]
    public async Task A_410_leads_to_a_relist_with_no_missed_or_duplicated_final_state()
    {
        var ns = await NewNamespaceAsync();
        foreach (var name in new[] { "gone", "changed", "same" })
        {
            await Maps.CreateAsync(Map(name, ns));
        }
        var informer = new Informer<V1ConfigMap>(Maps, NullLogger.Instance, ns);
        var seen = new ConcurrentQueue<(InformerEventType Type, string Name, string Value)>();
        informer.Subscribe(e => seen.Enqueue((e.Type, e.Entity.Metadata.Name, e.Entity.Data["input"])));
        var running = await StartAsync(informer.RunAsync);
        await informer.WaitForSyncAsync(CancellationToken.None);
        // Synced means listed; the watch is opened just after. Closed before it is open, it would
        // open after the fault below is set... or before, and then see every change live.
        await Eventually.TrueAsync(() => Server.OpenWatches("configmaps", ns) == 1, "the informer is watching");
        seen.Clear();

        // Keep the informer disconnected while things change, then make its resume point too old.
        Server.Faults.FailNext(int.MaxValue, "watch", "configmaps", HttpStatusCode.ServiceUnavailable);
        Server.CloseAllWatches();
        await Maps.DeleteAsync(ns, "gone");
        await Maps.PatchAsync(ns, "changed", """{"data":{"input":"1"}}""");
        await Maps.CreateAsync(Map("new", ns, "2"));
        Server.Compact();
        Server.Faults.Clear();

        await Eventually.TrueAsync(() => informer.Relists == 2 && seen.Count >= 3, "the informer listed again and caught up");
        seen.Should().BeEquivalentTo([(InformerEventType.Deleted, "gone", "0"), (InformerEventType.Updated, "changed", "1"), (InformerEventType.Added, "new", "2")],
            "each change arrives once; the unchanged object raises nothing");
        Snapshot(informer).Select(s => s.Name).Should().BeEquivalentTo(["changed", "same", "new"]);
        await StopAsync(running);
    }

    [Test]
    public async Task A_stale_update_is_retried_on_fresh_state()
    {
        var ns = await NewNamespaceAsync();
        await Maps.CreateAsync(Map("stale", ns, "first"));
        var meddled = 0;
        var controller = new CopyingController(Maps, async entity =>
        {
            // The first time, someone else writes the object between our read and our write.
            if (Interlocked.Exchange(ref meddled, 1) == 0)
            {
                await Maps.PatchAsync(ns, "stale", """{"data":{"input":"second"}}""");
            }
        });
        var runtime = new OperatorRuntime(Client, new LeaderElectionOptions { Enabled = false }, NullLoggerFactory.Instance)
            .AddController(() => controller, ns: ns, options: new ControllerOptions { Backoff = Backoff.Reconcile with { First = TimeSpan.FromMilliseconds(10) } });
        var running = await StartAsync(runtime.RunAsync);

        await Eventually.TrueAsync(async () => Value((await Maps.GetAsync(ns, "stale"))!.Data, "copy") == "second",
            "the copy reflects the fresh input");
        controller.Conflicts.Should().BeGreaterThan(0, "the first write was stale");
        await StopAsync(running);
    }

    [Test]
    public async Task One_object_is_never_reconciled_concurrently()
    {
        var ns = await NewNamespaceAsync();
        var controller = new ConcurrencyProbe();
        var runtime = new OperatorRuntime(Client, new LeaderElectionOptions { Enabled = false }, NullLoggerFactory.Instance)
            .AddController(() => controller, ns: ns, options: new ControllerOptions { Workers = 4 });
        var running = await StartAsync(runtime.RunAsync);

        for (var round = 0; round < 10; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 4).Select(i => round == 0
                ? Maps.CreateAsync(Map($"c{i}", ns))
                : Maps.PatchAsync(ns, $"c{i}", "{\"data\":{\"input\":\"" + round + "\"}}")));
        }

        await Eventually.TrueAsync(() => controller.LastSeen.Count == 4 && controller.LastSeen.Values.All(v => v == "9"), "every object was reconciled at its last state");
        controller.Overlaps.Should().Be(0, "the same object is never in two reconciles at once");
        controller.MaxParallel.Should().BeGreaterThan(1, "different objects are reconciled in parallel");
        await StopAsync(running);
    }

    [Test]
    public async Task A_finalizer_runs_once_after_success_and_is_retried_after_failure()
    {
        var ns = await NewNamespaceAsync();
        var finalizer = new FlakyFinalizer(failures: 2);
        var controller = new RecordingController();
        var runtime = new OperatorRuntime(Client, new LeaderElectionOptions { Enabled = false }, NullLoggerFactory.Instance)
            .AddController(() => controller, () => [finalizer], new ControllerOptions { Backoff = Backoff.Reconcile with { First = TimeSpan.FromMilliseconds(10) } }, ns);
        var running = await StartAsync(runtime.RunAsync);
        await Maps.CreateAsync(Map("fin", ns));
        await Eventually.TrueAsync(async () => (await Maps.GetAsync(ns, "fin"))!.Metadata.Finalizers?.Contains(FlakyFinalizer.Name) == true,
            "the runtime added its finalizer");

        await Maps.DeleteAsync(ns, "fin");

        await Eventually.TrueAsync(async () => await Maps.GetAsync(ns, "fin") is null, "the object went once finalized");
        finalizer.Attempts.Should().Be(3, "two failures, then success");
        finalizer.Successes.Should().Be(1);
        await Eventually.TrueAsync(() => controller.Deleted.Contains("fin"), "DeletedAsync saw the object go");
        controller.Deleted.Count(d => d == "fin").Should().Be(1);
        await StopAsync(running);
    }

    [Test]
    public async Task Only_the_lease_holder_reconciles_and_another_takes_over_when_it_stops()
    {
        var ns = await NewNamespaceAsync();
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = $"{ns}-lease" } });
        LeaderElectionOptions Election(string identity) => new()
        {
            Namespace = $"{ns}-lease", LeaseName = "controller", Identity = identity,
            LeaseDuration = TimeSpan.FromSeconds(3), RenewDeadline = TimeSpan.FromSeconds(2), RetryPeriod = TimeSpan.FromMilliseconds(200),
        };
        var first = new RecordingController();
        var second = new RecordingController();
        var runtimeA = new OperatorRuntime(Client, Election("a"), NullLoggerFactory.Instance).AddController(() => first, ns: ns);
        var runtimeB = new OperatorRuntime(Client, Election("b"), NullLoggerFactory.Instance).AddController(() => second, ns: ns);
        var runningA = await StartAsync(runtimeA.RunAsync);
        await Eventually.TrueAsync(() => runtimeA.IsReady, "a leads");
        var runningB = await StartAsync(runtimeB.RunAsync);

        await Maps.CreateAsync(Map("led", ns));
        await Eventually.TrueAsync(() => first.Reconciled.Contains("led"), "the leader reconciles");
        runtimeB.IsLeading.Should().BeFalse();
        second.Reconciled.Should().BeEmpty("a runtime without the lease runs no controller");

        var stopped = Stopwatch.StartNew();
        await StopAsync(runningA);
        await Eventually.TrueAsync(() => runtimeB.IsLeading, "b takes over", TimeSpan.FromSeconds(10));
        stopped.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(3) + TimeSpan.FromSeconds(1), "within the lease duration (plus a retry period)");
        await Maps.PatchAsync(ns, "led", """{"data":{"input":"after"}}""");
        await Eventually.TrueAsync(() => second.Reconciled.Contains("led"), "the new leader reconciles");
        await StopAsync(runningB);
    }

    [Test]
    public async Task Events_are_deduplicated_with_a_count()
    {
        var ns = await NewNamespaceAsync();
        var about = await Maps.CreateAsync(Map("noisy", ns));
        var recorder = new EventRecorder(ApiConnection.Of(Client), "test", NullLogger<EventRecorder>.Instance);

        await recorder.RecordAsync(about, EventType.Warning, "AllocationFailed", "pool full");
        await recorder.RecordAsync(about, EventType.Warning, "AllocationFailed", "pool full");
        await recorder.RecordAsync(about, EventType.Normal, "IPAllocated", "192.0.2.1");

        var events = (await Client.CoreV1.ListNamespacedEventAsync(ns)).Items;
        events.Should().HaveCount(2);
        var failed = events.Single(e => e.Reason == "AllocationFailed");
        failed.Count.Should().Be(2);
        failed.Type.Should().Be("Warning");
        failed.InvolvedObject.Uid.Should().Be(about.Metadata.Uid);
    }

    [Test]
    public async Task An_Event_carrying_user_input_is_cut_to_a_kilobyte()
    {
        var ns = await NewNamespaceAsync();
        var about = await Maps.CreateAsync(Map("verbose", ns));
        var recorder = new EventRecorder(ApiConnection.Of(Client), "test", NullLogger<EventRecorder>.Instance);

        await recorder.RecordAsync(about, EventType.Warning, "AllocationFailed", "pools: " + string.Concat(Enumerable.Repeat("198.51.100.7, ", 20_000)));
        await recorder.RecordAsync(about, EventType.Warning, "AllocationFailed", "pools: " + string.Concat(Enumerable.Repeat("198.51.100.7, ", 20_000)));

        var recorded = (await Client.CoreV1.ListNamespacedEventAsync(ns)).Items.Should().ContainSingle().Subject;
        recorded.Message.Length.Should().Be(EventRecorder.MaxMessageLength);
        recorded.Message.Should().StartWith("pools: 198.51.100.7").And.EndWith("...");
        recorded.Count.Should().Be(2, "the cut message still deduplicates");
    }

    private static string? Value(IDictionary<string, string> data, string key) => data.TryGetValue(key, out var value) ? value : null;

    private static HashSet<(string Name, string ResourceVersion)> Snapshot(Informer<V1ConfigMap> informer) =>
        [.. informer.Items.Select(m => (m.Metadata.Name, m.Metadata.ResourceVersion))];

    private sealed class CopyingController(EntityClient<V1ConfigMap> maps, Func<V1ConfigMap, Task> beforeWrite) : IEntityController<V1ConfigMap>
    {
        private int conflicts;

        public int Conflicts => conflicts;

        public async Task<ReconcileResult> ReconcileAsync(V1ConfigMap entity, CancellationToken cancellationToken)
        {
            if (Value(entity.Data, "copy") == entity.Data["input"])
            {
                return ReconcileResult.Done;
            }
            await beforeWrite(entity);
            entity.Data["copy"] = entity.Data["input"];
            try
            {
                await maps.ReplaceAsync(entity, cancellationToken);
            }
            catch (ApiStatusException error) when (error.IsConflict)
            {
                Interlocked.Increment(ref conflicts);
                throw;
            }
            return ReconcileResult.Done;
        }

        public Task DeletedAsync(V1ConfigMap entity, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class ConcurrencyProbe : IEntityController<V1ConfigMap>
    {
        private readonly ConcurrentDictionary<string, int> active = new();
        private int parallel;
        private int maxParallel;
        private int overlaps;

        public ConcurrentDictionary<string, string> LastSeen { get; } = new();
        public int Overlaps => overlaps;
        public int MaxParallel => maxParallel;

        public async Task<ReconcileResult> ReconcileAsync(V1ConfigMap entity, CancellationToken cancellationToken)
        {
            var name = entity.Metadata.Name;
            if (active.AddOrUpdate(name, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }
            var now = Interlocked.Increment(ref parallel);
            InterlockedMax(ref maxParallel, now);
            await Task.Delay(30, cancellationToken);
            LastSeen[name] = entity.Data["input"];
            Interlocked.Decrement(ref parallel);
            active.AddOrUpdate(name, 0, (_, n) => n - 1);
            return ReconcileResult.Done;
        }

        public Task DeletedAsync(V1ConfigMap entity, CancellationToken cancellationToken) => Task.CompletedTask;

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }
    }

    private sealed class RecordingController : IEntityController<V1ConfigMap>
    {
        public ConcurrentBag<string> Reconciled { get; } = [];
        public ConcurrentBag<string> Deleted { get; } = [];

        public Task<ReconcileResult> ReconcileAsync(V1ConfigMap entity, CancellationToken cancellationToken)
        {
            Reconciled.Add(entity.Metadata.Name);
            return Task.FromResult(ReconcileResult.Done);
        }

        public Task DeletedAsync(V1ConfigMap entity, CancellationToken cancellationToken)
        {
            Deleted.Add(entity.Metadata.Name);
            return Task.CompletedTask;
        }
    }

    private sealed class FlakyFinalizer(int failures) : IEntityFinalizer<V1ConfigMap>
    {
        public const string Name = "test.ipvsoperator.io/cleanup";
        private int attempts;
        private int successes;

        public string Identifier => Name;
        public int Attempts => attempts;
        public int Successes => successes;

        public Task FinalizeAsync(V1ConfigMap entity, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref attempts) <= failures)
            {
                throw new InvalidOperationException("cleanup failed (on purpose)");
            }
            Interlocked.Increment(ref successes);
            return Task.CompletedTask;
        }
    }
}
