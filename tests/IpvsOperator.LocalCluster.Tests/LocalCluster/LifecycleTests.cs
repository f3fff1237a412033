using System.Net;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

public class LifecycleTests : LocalClusterFixture
{
    [Test]
    public async Task Deletion_waits_for_finalizers_and_completes_when_they_are_gone()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "held", Finalizers = ["example.com/hold"] } }, "default");

        var deleting = await Client.CoreV1.DeleteNamespacedConfigMapAsync("held", "default");

        var stillThere = await Client.CoreV1.ReadNamespacedConfigMapAsync("held", "default");
        stillThere.Metadata.DeletionTimestamp.Should().NotBeNull();
        stillThere.Metadata.Finalizers.Should().Equal("example.com/hold");

        stillThere.Metadata.Finalizers.Add("example.com/late");
        var refused = await ApiErrors.Of(() => Client.CoreV1.ReplaceNamespacedConfigMapAsync(stillThere, "held", "default"));
        refused.Code.Should().Be((HttpStatusCode)422);
        refused.Message.Should().Contain("no new finalizers can be added if the object is being deleted");

        var fresh = await Client.CoreV1.ReadNamespacedConfigMapAsync("held", "default");
        fresh.Metadata.Finalizers.Clear();
        await Client.CoreV1.ReplaceNamespacedConfigMapAsync(fresh, "held", "default");
        (await ApiErrors.Of(() => Client.CoreV1.ReadNamespacedConfigMapAsync("held", "default"))).Code.Should().Be(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Deleting_again_while_finalizers_remain_changes_nothing()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "twice", Finalizers = ["example.com/hold"] } }, "default");
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("twice", "default");
        var first = await Client.CoreV1.ReadNamespacedConfigMapAsync("twice", "default");

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("twice", "default");

        (await Client.CoreV1.ReadNamespacedConfigMapAsync("twice", "default")).Metadata.ResourceVersion.Should().Be(first.Metadata.ResourceVersion);
    }

    [Test]
    public async Task Dependents_are_garbage_collected_with_their_owner()
    {
        var owner = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "owner" } }, "default");
        var reference = new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "owner", Uid = owner.Metadata.Uid };
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "child", OwnerReferences = [reference] } }, "default");
        var other = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "other-owner" } }, "default");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new() { Name = "shared-child", OwnerReferences = [reference, new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "other-owner", Uid = other.Metadata.Uid }] },
        }, "default");

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("owner", "default");

        (await ApiErrors.Of(() => Client.CoreV1.ReadNamespacedConfigMapAsync("child", "default"))).Code.Should().Be(HttpStatusCode.NotFound);
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("shared-child", "default")).Should().NotBeNull("it still has a live owner");
    }

    [Test]
    public async Task Orphan_propagation_keeps_dependents_and_drops_the_reference()
    {
        var owner = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "orphaner" } }, "default");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new() { Name = "orphan", OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "orphaner", Uid = owner.Metadata.Uid }] },
        }, "default");

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("orphaner", "default", propagationPolicy: "Orphan");

        (await Client.CoreV1.ReadNamespacedConfigMapAsync("orphan", "default")).Metadata.OwnerReferences.Should().BeNullOrEmpty();
    }

    [Test]
    public async Task Deleting_a_namespace_deletes_its_contents_and_refuses_new_ones()
    {
        var ns = await NewNamespaceAsync("doomed");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "a" } }, ns);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "held", Finalizers = ["example.com/hold"] } }, ns);

        await Client.CoreV1.DeleteNamespaceAsync(ns);

        var terminating = await Client.CoreV1.ReadNamespaceAsync(ns);
        terminating.Status.Phase.Should().Be("Terminating");
        (await ApiErrors.Of(() => Client.CoreV1.ReadNamespacedConfigMapAsync("a", ns))).Code.Should().Be(HttpStatusCode.NotFound);
        (await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "new" } }, ns)))
            .Message.Should().Contain("because it is being terminated");

        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("{\"metadata\":{\"finalizers\":null}}", V1Patch.PatchType.MergePatch), "held", ns);
        (await ApiErrors.Of(() => Client.CoreV1.ReadNamespaceAsync(ns))).Code.Should().Be(HttpStatusCode.NotFound, "the namespace goes when it is empty");
    }

    [Test]
    public async Task Delete_preconditions_are_honoured()
    {
        var created = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "pre" } }, "default");

        var wrongUid = await ApiErrors.Of(() => Client.CoreV1.DeleteNamespacedConfigMapAsync("pre", "default", new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = "not-it" } }));
        wrongUid.Code.Should().Be(HttpStatusCode.Conflict);
        wrongUid.Message.Should().Contain("Precondition failed: UID in precondition: not-it");

        await Client.CoreV1.DeleteNamespacedConfigMapAsync("pre", "default", new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = created.Metadata.Uid } });
    }
}
