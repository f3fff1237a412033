using System.Net;
using System.Text.Json;
using IpvsOperator.Entities;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

public class CustomResourceTests : LocalClusterFixture
{
    private GenericClient pools = null!;

    [OneTimeSetUp]
    public async Task InstallAsync()
    {
        await InstallCrdsAsync();
        pools = new GenericClient(Client, WellKnown.Group, WellKnown.Version, V1Alpha1IPPool.Plural, disposeClient: false);
    }

    [OneTimeTearDown]
    public void DisposePools() => pools.Dispose();

    private static V1Alpha1IPPool Pool(string name, params string[] addresses) => new()
    {
        ApiVersion = WellKnown.ApiVersion,
        Kind = V1Alpha1IPPool.KindName,
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new IPPoolSpec { Addresses = [.. addresses] },
    };

    [Test]
    public async Task Creating_a_CRD_serves_its_resource_in_discovery()
    {
        var resources = await Client.CustomObjects.GetAPIResourcesAsync(WellKnown.Group, WellKnown.Version);

        resources.Resources.Should().Contain(r => r.Name == "ippools" && !r.Namespaced && r.ShortNames.Contains("ippool"));
        resources.Resources.Should().Contain(r => r.Name == "ipallocations/status");
        var crd = await Client.ApiextensionsV1.ReadCustomResourceDefinitionAsync("ippools.ipvsoperator.io");
        crd.Status.Conditions.Should().Contain(c => c.Type == "Established" && c.Status == "True");
    }

    [Test]
    public async Task Defaults_from_the_schema_are_applied()
    {
        var created = await pools.CreateAsync(Pool("defaults", "192.0.2.0/28"));

        created.Spec.AutoAssign.Should().BeTrue();
        created.Spec.Priority.Should().Be(0);
        var raw = await Client.CustomObjects.GetClusterCustomObjectAsync(WellKnown.Group, WellKnown.Version, "ippools", "defaults");
        ((JsonElement)raw).GetProperty("spec").GetProperty("avoidBuggyIPs").GetBoolean().Should().BeFalse("the default is stored, not just implied");
    }

    [Test]
    public async Task The_schema_refuses_wrong_types_and_missing_required_fields()
    {
        var wrongType = await ApiErrors.Of(() => Client.CustomObjects.CreateClusterCustomObjectAsync(
            JsonDocument.Parse("""{"apiVersion":"ipvsoperator.io/v1alpha1","kind":"IPPool","metadata":{"name":"bad-type"},"spec":{"addresses":["192.0.2.0/28"],"autoAssign":"yes"}}""").RootElement,
            WellKnown.Group, WellKnown.Version, "ippools"));
        wrongType.Code.Should().Be((HttpStatusCode)422);
        wrongType.Reason.Should().Be("Invalid");
        wrongType.Message.Should().Contain("IPPool.ipvsoperator.io \"bad-type\" is invalid").And.Contain("spec.autoAssign");

        var missing = await ApiErrors.Of(() => Client.CustomObjects.CreateClusterCustomObjectAsync(
            JsonDocument.Parse("""{"apiVersion":"ipvsoperator.io/v1alpha1","kind":"IPPool","metadata":{"name":"no-addresses"},"spec":{}}""").RootElement,
            WellKnown.Group, WellKnown.Version, "ippools"));
        missing.Message.Should().Contain("spec.addresses: Required value");

        var tooFew = await ApiErrors.Of(() => pools.CreateAsync(Pool("empty")));
        tooFew.Code.Should().Be((HttpStatusCode)422);
        tooFew.Message.Should().Contain("spec.addresses");
    }

    [Test]
    public async Task Patterns_and_enums_are_enforced()
    {
        var pool = Pool("pattern", "192.0.2.0/28");
        var created = await pools.CreateAsync(pool);

        var badCount = await ApiErrors.Of(() => Client.CustomObjects.PatchClusterCustomObjectStatusAsync(
            new V1Patch("""{"status":{"ipv4":{"capacity":"lots"}}}""", V1Patch.PatchType.MergePatch), WellKnown.Group, WellKnown.Version, "ippools", created.Metadata.Name));
        badCount.Message.Should().Contain("status.ipv4.capacity");

        var badOperator = await ApiErrors.Of(() => Client.CustomObjects.PatchClusterCustomObjectAsync(
            new V1Patch("""{"spec":{"serviceAllocation":{"serviceSelector":{"matchExpressions":[{"key":"a","operator":"Like"}]}}}}""", V1Patch.PatchType.MergePatch),
            WellKnown.Group, WellKnown.Version, "ippools", created.Metadata.Name));
        badOperator.Message.Should().Contain("operator");
    }

    [Test]
    public async Task Unknown_fields_are_pruned_or_refused_with_strict_field_validation()
    {
        var body = JsonDocument.Parse("""{"apiVersion":"ipvsoperator.io/v1alpha1","kind":"IPPool","metadata":{"name":"unknown"},"spec":{"addresses":["192.0.2.0/28"],"colour":"blue"}}""").RootElement;

        var strict = await ApiErrors.Of(() => Client.CustomObjects.CreateClusterCustomObjectAsync(body, WellKnown.Group, WellKnown.Version, "ippools", fieldValidation: "Strict"));
        strict.Code.Should().Be(HttpStatusCode.BadRequest);
        strict.Message.Should().Contain("unknown field \"spec.colour\"");

        await Client.CustomObjects.CreateClusterCustomObjectAsync(body, WellKnown.Group, WellKnown.Version, "ippools");
        var stored = (JsonElement)await Client.CustomObjects.GetClusterCustomObjectAsync(WellKnown.Group, WellKnown.Version, "ippools", "unknown");
        stored.GetProperty("spec").TryGetProperty("colour", out _).Should().BeFalse("unknown fields are pruned");
    }

    [Test]
    public async Task Generation_counts_spec_changes_only()
    {
        var created = await pools.CreateAsync(Pool("gen", "192.0.2.0/28"));
        created.Metadata.Generation.Should().Be(1);

        var labelled = await pools.PatchAsync<V1Alpha1IPPool>(new V1Patch("""{"metadata":{"labels":{"a":"b"}}}""", V1Patch.PatchType.MergePatch), "gen");
        labelled.Metadata.Generation.Should().Be(1);

        var status = await Client.CustomObjects.PatchClusterCustomObjectStatusAsync(
            new V1Patch("""{"status":{"observedGeneration":1}}""", V1Patch.PatchType.MergePatch), WellKnown.Group, WellKnown.Version, "ippools", "gen");
        ((JsonElement)status).GetProperty("metadata").GetProperty("generation").GetInt64().Should().Be(1);

        var changed = await pools.PatchAsync<V1Alpha1IPPool>(new V1Patch("""{"spec":{"priority":5}}""", V1Patch.PatchType.MergePatch), "gen");
        changed.Metadata.Generation.Should().Be(2);
        changed.Status.ObservedGeneration.Should().Be(1);
    }

    [Test]
    public async Task A_custom_resource_update_needs_a_resource_version_and_refuses_strategic_merge()
    {
        var created = await pools.CreateAsync(Pool("rv-needed", "192.0.2.0/28"));
        created.Metadata.ResourceVersion = null;

        var noVersion = await ApiErrors.Of(() => pools.ReplaceAsync(created, "rv-needed"));
        noVersion.Code.Should().Be((HttpStatusCode)422);
        noVersion.Message.Should().Contain("metadata.resourceVersion").And.Contain("must be specified for an update");

        var strategic = await ApiErrors.Of(() => pools.PatchAsync<V1Alpha1IPPool>(new V1Patch("""{"spec":{"priority":1}}""", V1Patch.PatchType.StrategicMergePatch), "rv-needed"));
        strategic.Code.Should().Be(HttpStatusCode.UnsupportedMediaType);
    }

    [Test]
    public async Task Deleting_a_CRD_stops_serving_its_resource()
    {
        var crd = new V1CustomResourceDefinition
        {
            Metadata = new V1ObjectMeta { Name = "widgets.example.com" },
            Spec = new V1CustomResourceDefinitionSpec
            {
                Group = "example.com",
                Scope = "Namespaced",
                Names = new V1CustomResourceDefinitionNames { Kind = "Widget", Plural = "widgets" },
                Versions = [new V1CustomResourceDefinitionVersion
                {
                    Name = "v1", Served = true, Storage = true,
                    Schema = new V1CustomResourceValidation { OpenAPIV3Schema = new V1JSONSchemaProps { Type = "object", XKubernetesPreserveUnknownFields = true } },
                }],
            },
        };
        await Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        await Client.CustomObjects.CreateNamespacedCustomObjectAsync(
            JsonDocument.Parse("""{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"anything":{"goes":1}}""").RootElement, "example.com", "v1", "default", "widgets");

        await Client.ApiextensionsV1.DeleteCustomResourceDefinitionAsync("widgets.example.com");

        (await ApiErrors.Of(() => Client.CustomObjects.ListNamespacedCustomObjectAsync("example.com", "v1", "default", "widgets"))).Code.Should().Be(HttpStatusCode.NotFound);
    }
}
