using System.Net;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

public class PatchTests : LocalClusterFixture
{
    [Test]
    public async Task A_merge_patch_merges_maps_and_deletes_with_null()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "merge" }, Data = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" } }, "default");

        var patched = await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"a":null,"c":"3"}}""", V1Patch.PatchType.MergePatch), "merge", "default");

        patched.Data.Should().BeEquivalentTo(new Dictionary<string, string> { ["b"] = "2", ["c"] = "3" });
    }

    [Test]
    public async Task A_JSON_patch_applies_operations_in_order_and_test_guards_them()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "json" }, Data = new Dictionary<string, string> { ["a"] = "1" } }, "default");

        var patched = await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""
            [{"op":"test","path":"/data/a","value":"1"},{"op":"replace","path":"/data/a","value":"2"},{"op":"add","path":"/data/b","value":"x"},{"op":"move","from":"/data/b","path":"/data/c"}]
            """, V1Patch.PatchType.JsonPatch), "json", "default");
        patched.Data.Should().BeEquivalentTo(new Dictionary<string, string> { ["a"] = "2", ["c"] = "x" });

        var failedTest = await ApiErrors.Of(() => Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""[{"op":"test","path":"/data/a","value":"1"}]""", V1Patch.PatchType.JsonPatch), "json", "default"));
        failedTest.Code.Should().Be((HttpStatusCode)422);
    }

    [Test]
    public async Task A_strategic_merge_patch_merges_service_ports_by_port_and_finalizers_as_a_set()
    {
        var service = LoadBalancer("smp");
        service.Metadata.Finalizers = ["a.example/x"];
        service.Spec.Ports.Add(new V1ServicePort { Name = "https", Port = 443, TargetPort = 8443 });
        await Client.CoreV1.CreateNamespacedServiceAsync(service, "default");

        var patched = await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""
            {"metadata":{"finalizers":["b.example/y"]},"spec":{"ports":[{"port":443,"targetPort":9443},{"port":8080,"name":"alt"}]}}
            """, V1Patch.PatchType.StrategicMergePatch), "smp", "default");

        patched.Metadata.Finalizers.Should().Equal("a.example/x", "b.example/y");
        patched.Spec.Ports.Select(p => (p.Port, p.TargetPort.Value)).Should().Equal((80, "8080"), (443, "9443"), (8080, "8080"));

        var removed = await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""
            {"metadata":{"$deleteFromPrimitiveList/finalizers":["a.example/x"]},"spec":{"ports":[{"port":8080,"$patch":"delete"}]}}
            """, V1Patch.PatchType.StrategicMergePatch), "smp", "default");
        removed.Metadata.Finalizers.Should().Equal("b.example/y");
        removed.Spec.Ports.Select(p => p.Port).Should().Equal(80, 443);
    }

    [Test]
    public async Task A_patch_naming_a_stale_resource_version_conflicts()
    {
        var created = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "guarded" } }, "default");
        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"data":{"x":"1"}}""", V1Patch.PatchType.MergePatch), "guarded", "default");

        var stale = await ApiErrors.Of(() => Client.CoreV1.PatchNamespacedConfigMapAsync(
            new V1Patch("{\"metadata\":{\"resourceVersion\":\"" + created.Metadata.ResourceVersion + "\"},\"data\":{\"x\":\"2\"}}", V1Patch.PatchType.MergePatch), "guarded", "default"));

        stale.Code.Should().Be(HttpStatusCode.Conflict);
    }
}
