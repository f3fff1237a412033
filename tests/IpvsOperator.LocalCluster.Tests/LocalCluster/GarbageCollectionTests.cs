using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// Deletion propagation as kube-apiserver and its garbage collector do it (issue 35, item 4): a
/// Foreground or Orphan delete answers 200 with the owner marked by the collector's finalizer
/// (<c>foregroundDeletion</c>, <c>orphan</c>), and the collector finishes the work; a dependent
/// that still has another owner is kept and loses only the reference to the one that went.
/// </summary>
public class GarbageCollectionTests : LocalClusterFixture
{
    private KubectlSession kubectl = null!;

    [OneTimeSetUp]
    public void StartKubectlSession() => kubectl = new KubectlSession(Server);

    [OneTimeTearDown]
    public void EndKubectlSession() => kubectl.Dispose();

    private static V1OwnerReference OwnedBy(V1ConfigMap owner, bool block = false) =>
        new() { ApiVersion = "v1", Kind = "ConfigMap", Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, BlockOwnerDeletion = block };

    private Task<V1ConfigMap> CreateAsync(string ns, string name, params V1OwnerReference[] owners) =>
        Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = name, OwnerReferences = owners.Length > 0 ? owners : null } }, ns);

    /// <summary>A DELETE with a propagation policy, over plain HTTP: the status code and the body the server answers.</summary>
    private async Task<(HttpStatusCode Code, JsonObject Body)> DeleteAsync(string ns, string name, string policy)
    {
        using var http = Server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/namespaces/{ns}/configmaps/{name}")
        {
            Content = new StringContent($$"""{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"{{policy}}"}""", Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    private async Task<bool> GoneAsync(string ns, string name) =>
        (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.All(c => c.Metadata.Name != name);

    [Test]
    public async Task Foreground_deletion_answers_200_with_the_owner_marked_when_the_blocking_dependent_has_no_finalizer()
    {
        var ns = await NewNamespaceAsync("fg-answer");
        var owner = await CreateAsync(ns, "owner");
        await CreateAsync(ns, "dependent", OwnedBy(owner, block: true));

        var (code, body) = await DeleteAsync(ns, "owner", "Foreground");

        code.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        body["kind"]!.GetValue<string>().Should().Be("ConfigMap", "the answer is the owner, as the collector's finalizer holds it");
        body["metadata"]!["deletionTimestamp"].Should().NotBeNull();
        body["metadata"]!["finalizers"]!.AsArray().Select(f => f!.GetValue<string>()).Should().Contain("foregroundDeletion");
        await Eventually.TrueAsync(async () => await GoneAsync(ns, "dependent") && await GoneAsync(ns, "owner"), "the collector deletes the dependent, then the owner");
    }

    [Test]
    public async Task Kubectl_delete_with_cascade_foreground_succeeds_and_waits_for_the_owner_to_go()
    {
        var ns = await NewNamespaceAsync("fg-kubectl");
        var owner = await CreateAsync(ns, "owner");
        await CreateAsync(ns, "dependent", OwnedBy(owner, block: true));

        var deleted = await kubectl.RunAsync("delete", "configmap", "owner", "-n", ns, "--cascade=foreground");

        deleted.ExitCode.Should().Be(0, deleted.Error);
        deleted.Output.Should().Contain("configmap \"owner\" deleted");
        (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Should().BeEmpty("kubectl waited until the owner was gone, and its dependent went first");
    }

    [Test]
    public async Task Foreground_deletion_of_an_object_without_dependents_still_answers_it_marked()
    {
        var ns = await NewNamespaceAsync("fg-alone");
        await CreateAsync(ns, "alone");

        var (code, body) = await DeleteAsync(ns, "alone", "Foreground");

        code.Should().Be(HttpStatusCode.OK);
        body["metadata"]!["finalizers"]!.AsArray().Select(f => f!.GetValue<string>()).Should().Equal("foregroundDeletion");
        await Eventually.TrueAsync(() => GoneAsync(ns, "alone"), "nothing blocks it, so the collector lets it go");
    }

    [Test]
    public async Task Foreground_deletion_keeps_a_dependent_that_has_another_owner_and_drops_only_the_reference()
    {
        var ns = await NewNamespaceAsync("fg-shared");
        var owner = await CreateAsync(ns, "owner");
        var other = await CreateAsync(ns, "other");
        await CreateAsync(ns, "shared", OwnedBy(owner, block: true), OwnedBy(other));

        var (code, _) = await DeleteAsync(ns, "owner", "Foreground");

        code.Should().Be(HttpStatusCode.OK);
        await Eventually.TrueAsync(() => GoneAsync(ns, "owner"), "the owner goes once no dependent blocks it");
        var shared = await Client.CoreV1.ReadNamespacedConfigMapAsync("shared", ns);
        shared.Metadata.DeletionTimestamp.Should().BeNull("it still has a live owner, so the collector does not delete it");
        shared.Metadata.OwnerReferences.Select(r => r.Name).Should().Equal(["other"], "only the reference to the deleted owner is dropped");
    }

    [Test]
    public async Task Orphan_deletion_answers_200_with_the_owner_marked_by_the_orphan_finalizer()
    {
        var ns = await NewNamespaceAsync("orphan");
        var owner = await CreateAsync(ns, "owner");
        await CreateAsync(ns, "dependent", OwnedBy(owner, block: true));

        var (code, body) = await DeleteAsync(ns, "owner", "Orphan");

        code.Should().Be(HttpStatusCode.OK, body.ToJsonString());
        body["metadata"]!["deletionTimestamp"].Should().NotBeNull();
        body["metadata"]!["finalizers"]!.AsArray().Select(f => f!.GetValue<string>()).Should().Equal("orphan");
        await Eventually.TrueAsync(() => GoneAsync(ns, "owner"), "the collector orphans the dependents, then lets the owner go");
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("dependent", ns)).Metadata.OwnerReferences.Should().BeNullOrEmpty();
    }

    [Test]
    public async Task Background_deletion_keeps_a_dependent_with_another_owner_and_drops_the_dangling_reference()
    {
        var ns = await NewNamespaceAsync("bg-shared");
        var owner = await CreateAsync(ns, "owner");
        var other = await CreateAsync(ns, "other");
        await CreateAsync(ns, "child", OwnedBy(owner));
        await CreateAsync(ns, "shared", OwnedBy(owner), OwnedBy(other));

        var (code, body) = await DeleteAsync(ns, "owner", "Background");

        code.Should().Be(HttpStatusCode.OK);
        body["metadata"]!["finalizers"].Should().BeNull("a background delete adds no finalizer: the owner goes at once");
        await Eventually.TrueAsync(() => GoneAsync(ns, "child"), "its only owner is gone");
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ReadNamespacedConfigMapAsync("shared", ns)).Metadata.OwnerReferences.Select(r => r.Name).SequenceEqual(["other"]),
            "the collector removes the reference to the owner that is gone, and keeps the dependent");
    }
}
