using System.Net;
using IpvsOperator.LocalCluster;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

public class ListWatchTests : LocalClusterFixture
{
    protected override LocalClusterOptions Options => new() { BookmarkInterval = TimeSpan.FromMilliseconds(200), HistoryLimit = 50 };

    private async Task CreateAsync(string ns, string name, string tier) =>
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = name, Labels = new Dictionary<string, string> { ["tier"] = tier } } }, ns);

    [Test]
    public async Task Label_and_field_selectors_filter_lists()
    {
        var ns = await NewNamespaceAsync();
        await CreateAsync(ns, "a", "web");
        await CreateAsync(ns, "b", "db");
        await CreateAsync(ns, "c", "cache");

        Names(await Client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "tier=web")).Should().Equal("a");
        Names(await Client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "tier in (web,db)")).Should().Equal("a", "b");
        Names(await Client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "tier!=web")).Should().Equal("b", "c");
        Names(await Client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: "!missing,tier notin (cache)")).Should().Equal("a", "b");
        Names(await Client.CoreV1.ListNamespacedConfigMapAsync(ns, fieldSelector: "metadata.name=b")).Should().Equal("b");
        Names(await Client.CoreV1.ListConfigMapForAllNamespacesAsync(fieldSelector: $"metadata.namespace={ns},metadata.name!=a")).Should().Equal("b", "c");
        var unsupported = await ApiErrors.Of(() => Client.CoreV1.ListNamespacedConfigMapAsync(ns, fieldSelector: "data.x=1"));
        unsupported.Code.Should().Be(HttpStatusCode.BadRequest);
        unsupported.Message.Should().Contain("\"data.x\" is not a known field selector");
    }

    [Test]
    public async Task Lists_page_with_limit_and_continue()
    {
        var ns = await NewNamespaceAsync();
        for (var i = 0; i < 7; i++)
        {
            await CreateAsync(ns, $"item-{i}", "x");
        }

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 3, continueParameter: token);
            page.Items.Count.Should().BeLessThanOrEqualTo(3);
            seen.AddRange(Names(page));
            token = page.Metadata.ContinueProperty;
            pages++;
        }
        while (!string.IsNullOrEmpty(token));

        pages.Should().Be(3);
        seen.Should().Equal(Enumerable.Range(0, 7).Select(i => $"item-{i}"));
    }

    [Test]
    public async Task A_watch_streams_added_modified_and_deleted_in_order()
    {
        var ns = await NewNamespaceAsync();
        var list = await Client.CoreV1.ListNamespacedConfigMapAsync(ns);
        var events = new List<(WatchEventType Type, string Name, string? Value)>();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, item) in Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: list.Metadata.ResourceVersion, cancellationToken: cancel.Token))
            {
                lock (events)
                {
                    events.Add((type, item.Metadata.Name, item.Data is { } data && data.TryGetValue("v", out var v) ? v : null));
                }
            }
        });

        await CreateAsync(ns, "w", "x");
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"data\":{\"v\":\"1\"}}", V1Patch.PatchType.MergePatch), "w", ns);
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("w", ns);

        await Eventually.TrueAsync(() => { lock (events) { return events.Count >= 3; } }, "three events arrived");
        await cancel.CancelAsync();
        lock (events)
        {
            events.Should().Equal((WatchEventType.Added, "w", null), (WatchEventType.Modified, "w", "1"), (WatchEventType.Deleted, "w", "1"));
        }
        await watching.ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [Test]
    public async Task A_watch_resumed_from_a_resource_version_replays_what_it_missed()
    {
        var ns = await NewNamespaceAsync();
        var start = (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        await CreateAsync(ns, "r1", "x");
        await CreateAsync(ns, "r2", "x");

        var seen = await CollectAsync(ns, start, count: 2);

        seen.Select(e => (e.Type, e.Object.Metadata.Name)).Should().Equal((WatchEventType.Added, "r1"), (WatchEventType.Added, "r2"));
    }

    [Test]
    public async Task A_label_selected_watch_sees_objects_enter_and_leave_the_selection()
    {
        var ns = await NewNamespaceAsync();
        var start = (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        await CreateAsync(ns, "moving", "db");
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"metadata\":{\"labels\":{\"tier\":\"web\"}}}", V1Patch.PatchType.MergePatch), "moving", ns);
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"metadata\":{\"labels\":{\"tier\":\"db\"}}}", V1Patch.PatchType.MergePatch), "moving", ns);

        var seen = await CollectAsync(ns, start, count: 2, labelSelector: "tier=web");

        seen.Select(e => e.Type).Should().Equal(WatchEventType.Added, WatchEventType.Deleted);
    }

    [Test]
    public async Task Bookmarks_carry_the_current_resource_version_when_asked_for()
    {
        var ns = await NewNamespaceAsync();
        var start = (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        await CreateAsync(ns, "other-activity", "x");

        var seen = await CollectAsync(ns, start, count: 2, bookmarks: true);

        seen[0].Type.Should().Be(WatchEventType.Added);
        seen[1].Type.Should().Be(WatchEventType.Bookmark);
        long.Parse(seen[1].Object.Metadata.ResourceVersion).Should().BeGreaterThanOrEqualTo(long.Parse(seen[0].Object.Metadata.ResourceVersion));
    }

    [Test]
    public async Task A_watch_from_a_version_that_left_the_history_gets_410_Expired()
    {
        var ns = await NewNamespaceAsync();
        var old = (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        for (var i = 0; i < 60; i++)
        {
            await CreateAsync(ns, $"churn-{i}", "x");
        }

        var error = await WatchErrorAsync(ns, old);

        error.Should().NotBeNull();
        error!.Status.Code.Should().Be(410);
        error.Status.Reason.Should().Be("Expired");
    }


    private async Task<KubernetesException?> WatchErrorAsync(string ns, string resourceVersion)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        KubernetesException? error = null;
        try
        {
            await foreach (var _ in Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: resourceVersion, onError: e => error ??= e as KubernetesException, cancellationToken: cancel.Token))
            {
            }
        }
        catch (KubernetesException thrown)
        {
            error = thrown;
        }
        catch (OperationCanceledException)
        {
            // The stream ended.
        }
        return error;
    }

    private async Task<List<(WatchEventType Type, V1ConfigMap Object)>> CollectAsync(string ns, string resourceVersion, int count, string? labelSelector = null, bool bookmarks = false)
    {
        var seen = new List<(WatchEventType, V1ConfigMap)>();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await foreach (var (type, item) in Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: resourceVersion,
            labelSelector: labelSelector, allowWatchBookmarks: bookmarks, cancellationToken: cancel.Token))
            {
                seen.Add((type, item));
                if (seen.Count == count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"only {seen.Count} of {count} watch events arrived: {string.Join(", ", seen.Select(s => s.Item1))}");
        }
        return seen;
    }

    private static List<string> Names(V1ConfigMapList list) => [.. list.Items.Select(i => i.Metadata.Name)];
}
