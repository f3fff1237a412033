using System.Net;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// <c>dryRun=All</c> as kube-apiserver serves it (issue 35.1): every write verb is validated,
/// admitted and answered as it would be, and nothing of it persists: no object changes, no
/// resourceVersion moves, no watch event, no finalizer or garbage collection runs.
/// </summary>
public class DryRunTests : LocalClusterFixture
{
    private static V1ConfigMap ConfigMap(string name, string value = "kept") =>
        new() { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["v"] = value } };

    private async Task<string> RevisionAsync(string ns) => (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;

    [Test]
    public async Task A_dry_run_delete_of_a_collection_deletes_nothing_and_answers_the_list_it_would_delete()
    {
        var ns = await NewNamespaceAsync("drycollection");
        for (var i = 0; i < 25; i++)
        {
            await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap($"item-{i:00}"), ns);
        }
        var before = await RevisionAsync(ns);
        using var http = Server.CreateHttpClient();

        using var response = await http.DeleteAsync($"/api/v1/namespaces/{ns}/configmaps?dryRun=All");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        response.StatusCode.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        body["kind"]!.GetValue<string>().Should().Be("ConfigMapList", "upstream answers a collection delete with the list of what it deletes");
        body["items"]!.AsArray().Should().HaveCount(25);
        (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Should().HaveCount(25, "a dry run deletes nothing");
        (await RevisionAsync(ns)).Should().Be(before, "nothing was written");
    }

    [Test]
    public async Task A_collection_delete_answers_the_list_it_deleted_and_honours_its_selector()
    {
        var ns = await NewNamespaceAsync("collection");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "doomed", Labels = new Dictionary<string, string> { ["tier"] = "x" } } }, ns);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("spared"), ns);
        using var http = Server.CreateHttpClient();

        using var response = await http.DeleteAsync($"/api/v1/namespaces/{ns}/configmaps?labelSelector=tier%3Dx");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        response.StatusCode.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        body["items"]!.AsArray().Select(i => i!["metadata"]!["name"]!.GetValue<string>()).Should().Equal("doomed");
        (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Select(c => c.Metadata.Name).Should().Equal("spared");
    }

    [Test]
    public async Task A_dry_run_of_any_write_verb_stores_nothing_sends_no_watch_event_and_runs_no_finalizer_or_collection()
    {
        var ns = await NewNamespaceAsync("dryverbs");
        var owner = await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("owner"), ns);
        var dependent = ConfigMap("dependent");
        dependent.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner.Metadata.Uid, BlockOwnerDeletion = true }];
        await Client.CoreV1.CreateNamespacedConfigMapAsync(dependent, ns);
        var held = ConfigMap("held");
        held.Metadata.Finalizers = ["example.com/hold"];
        await Client.CoreV1.CreateNamespacedConfigMapAsync(held, ns);
        await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("web"), ns);
        var before = await RevisionAsync(ns);
        var snapshot = (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.ToDictionary(c => c.Metadata.Name, c => KubernetesJson.Serialize(c));

        await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("new"), ns, dryRun: "All");
        var replaced = await Client.CoreV1.ReadNamespacedConfigMapAsync("owner", ns);
        replaced.Data["v"] = "replaced";
        (await Client.CoreV1.ReplaceNamespacedConfigMapAsync(replaced, "owner", ns, dryRun: "All")).Data["v"].Should().Be("replaced", "a dry run answers what the write would store");
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"v":"merged"}}""", V1Patch.PatchType.MergePatch), "owner", ns, dryRun: "All");
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""[{"op":"replace","path":"/data/v","value":"json"}]""", V1Patch.PatchType.JsonPatch), "owner", ns, dryRun: "All");
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.StrategicMergePatch), "held", ns, dryRun: "All");
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"owner"},"data":{"v":"applied"}}""", V1Patch.PatchType.ApplyPatch),
            "owner", ns, fieldManager: "dry", dryRun: "All", force: true);
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"data":{"v":"applied"}}""", V1Patch.PatchType.ApplyPatch),
            "applied", ns, fieldManager: "dry", dryRun: "All");
        await Client.CoreV1.PatchNamespacedServiceStatusAsync(new V1Patch("""{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"}]}}}""", V1Patch.PatchType.MergePatch), "web", ns, dryRun: "All");
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, dryRun: "All", propagationPolicy: "Orphan");
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, dryRun: "All", propagationPolicy: "Foreground");
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", ns, dryRun: "All");
        (await Client.CoreV1.DeleteNamespacedConfigMapAsync("held", ns, dryRun: "All")).Should().NotBeNull();
        await Client.CoreV1.DeleteNamespacedServiceAsync("web", ns, dryRun: "All");
        await Client.CoreV1.DeleteCollectionNamespacedConfigMapAsync(ns, dryRun: "All");
        await Client.CoreV1.DeleteNamespaceAsync(ns, dryRun: "All");

        (await RevisionAsync(ns)).Should().Be(before, "no dry run wrote anything");
        var after = (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.ToDictionary(c => c.Metadata.Name, c => KubernetesJson.Serialize(c));
        after.Should().BeEquivalentTo(snapshot, "every object is as it was: no finalizer ran, no dependent was collected or orphaned");
        (await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Status?.LoadBalancer?.Ingress.Should().BeNullOrEmpty();
        (await Client.CoreV1.ReadNamespaceAsync(ns)).Status.Phase.Should().Be("Active");

        // The change history from before the dry runs holds nothing but the write made after them.
        await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("sentinel"), ns);
        var events = new List<(WatchEventType Type, string Name)>();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20) * Eventually.Scale);
        await foreach (var (type, item) in Client.CoreV1.WatchListNamespacedConfigMapAsync(ns, resourceVersion: before, cancellationToken: cancel.Token))
        {
            events.Add((type, item.Metadata.Name));
            if (item.Metadata.Name == "sentinel")
            {
                break;
            }
        }
        events.Should().Equal([(WatchEventType.Added, "sentinel")], "a dry run sends no watch event");
    }

    [Test]
    public async Task A_dry_run_delete_with_a_propagation_policy_that_does_not_exist_is_refused_as_the_real_delete_would_be()
    {
        var ns = await NewNamespaceAsync("drypolicy");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(ConfigMap("settings"), ns);

        var refused = await ApiErrors.Of(() => Client.CoreV1.DeleteNamespacedConfigMapAsync("settings", ns, dryRun: "All", propagationPolicy: "Sometimes"));

        refused.Code.Should().Be((HttpStatusCode)422);
        refused.Message.Should().Contain("Unsupported value: \"Sometimes\"");
    }
}
