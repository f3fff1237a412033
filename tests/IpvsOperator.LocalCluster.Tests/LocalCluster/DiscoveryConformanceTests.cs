using System.Net;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// Discovery and OpenAPI as kube-apiserver serves them (issue 35, item 9): aggregated discovery,
/// which kubectl 1.30+ asks for first, and the descriptions <c>kubectl explain</c> prints.
/// </summary>
public class DiscoveryConformanceTests : LocalClusterFixture
{
    private const string KubectlDiscoveryAccept =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    private async Task<(string ContentType, JsonObject Body)> DiscoverAsync(string path)
    {
        using var http = Server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept", KubectlDiscoveryAccept);
        using var response = await http.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return (response.Content.Headers.ContentType!.ToString(), JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Test]
    public async Task Aggregated_discovery_answers_api_and_apis_in_one_document_each()
    {
        var (coreType, core) = await DiscoverAsync("/api");
        var (groupsType, groups) = await DiscoverAsync("/apis");

        coreType.Replace(" ", string.Empty, StringComparison.Ordinal).Should().Be("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            "client-go reads the answer as aggregated only when the content type says so");
        groupsType.Should().Be(coreType);
        core["kind"]!.GetValue<string>().Should().Be("APIGroupDiscoveryList");
        var coreResources = core["items"]!.AsArray().Should().ContainSingle().Subject!["versions"]![0]!["resources"]!.AsArray();
        var services = coreResources.Single(r => r!["resource"]!.GetValue<string>() == "services")!;
        services["scope"]!.GetValue<string>().Should().Be("Namespaced");
        services["shortNames"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("svc");
        services["responseKind"]!["kind"]!.GetValue<string>().Should().Be("Service");
        services["subresources"]!.AsArray().Select(s => s!["subresource"]!.GetValue<string>()).Should().Equal("status");
        var leases = groups["items"]!.AsArray().Single(g => g!["metadata"]!["name"]?.GetValue<string>() == "coordination.k8s.io")!;
        leases["versions"]![0]!["version"]!.GetValue<string>().Should().Be("v1");
        leases["versions"]![0]!["resources"]!.AsArray().Select(r => r!["resource"]!.GetValue<string>()).Should().Contain("leases");
        groups["items"]!.AsArray().Should().NotContain(g => g!["metadata"]!["name"] == null, "the core group is /api's alone");
    }

    [Test]
    public async Task Kubectl_discovers_every_resource_from_the_two_aggregated_documents()
    {
        using var kubectl = new KubectlSession(Server); // a fresh discovery cache

        var resources = await kubectl.RunAsync("api-resources", "-v=6");

        resources.ExitCode.Should().Be(0, resources.Error);
        resources.Output.Should().Contain("leases").And.Contain("svc").And.Contain("endpointslices");
        resources.Error.Should().Contain("/apis?timeout");
        resources.Error.Should().NotContain("/apis/coordination.k8s.io/v1", "with aggregated discovery kubectl asks no group version on its own");
        resources.Error.Should().NotContain("/api/v1?timeout");
    }

    [Test]
    public async Task Kubectl_explain_prints_upstreams_descriptions_of_built_in_types_and_fields()
    {
        using var kubectl = new KubectlSession(Server);

        var service = await kubectl.RunAsync("explain", "service");
        var ports = await kubectl.RunAsync("explain", "svc.spec.ports");
        var lease = await kubectl.RunAsync("explain", "lease.spec.holderIdentity");

        // kubectl wraps descriptions at its own width: read them as one line.
        static string Flat(ProcessResult result) => System.Text.RegularExpressions.Regex.Replace(result.Output, @"\s+", " ");
        service.ExitCode.Should().Be(0, service.Error);
        Flat(service).Should().Contain("Service is a named abstraction of software service (for example, mysql) consisting of local port");
        Flat(ports).Should().Contain("The list of ports that are exposed by this service.", "a field's own description");
        Flat(ports).Should().Contain("The port that will be exposed by this service.", "the description of each field below it");
        Flat(lease).Should().Contain("holderIdentity contains the identity of the holder of a current lease.");
    }
}
