using System.Net;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// Lists and watches as kube-apiserver answers them (issue 35, item 9): its checks of a watch's
/// options, remainingItemCount on a page, and the metadata-only lists metadata informers ask for.
/// </summary>
public class ListOptionsConformanceTests : LocalClusterFixture
{
    private async Task<string> NamespaceWithConfigMapsAsync(string prefix, int count)
    {
        var ns = await NewNamespaceAsync(prefix);
        for (var i = 0; i < count; i++)
        {
            await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
            {
                Metadata = new V1ObjectMeta { Name = $"cm-{i}", Labels = new Dictionary<string, string> { ["even"] = (i % 2 == 0).ToString() } },
                Data = new Dictionary<string, string> { ["payload"] = new string('x', 100) },
            }, ns);
        }
        return ns;
    }

    [Test]
    public async Task A_watch_with_resourceVersionMatch_but_no_sendInitialEvents_is_refused_with_422()
    {
        var ns = await NewNamespaceAsync("watchmatch");
        using var http = Server.CreateHttpClient();
        var version = (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;

        using var refused = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={version}&resourceVersionMatch=NotOlderThan");
        using var unsupported = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={version}&resourceVersionMatch=Exact&sendInitialEvents=false");
        using var allowed = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion={version}&resourceVersionMatch=NotOlderThan&sendInitialEvents=false&timeoutSeconds=1",
            HttpCompletionOption.ResponseHeadersRead);

        refused.StatusCode.Should().Be((HttpStatusCode)422);
        var status = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        status["details"]!["causes"]![0]!["field"]!.GetValue<string>().Should().Be("resourceVersionMatch");
        status["message"]!.GetValue<string>().Should().Contain("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided");
        unsupported.StatusCode.Should().Be((HttpStatusCode)422);
        (await unsupported.Content.ReadAsStringAsync()).Should().Contain("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
        allowed.StatusCode.Should().Be(HttpStatusCode.OK, "sendInitialEvents=false with NotOlderThan is an ordinary watch from that version");
    }

    [Test]
    public async Task A_page_of_a_list_without_selectors_says_how_many_items_remain()
    {
        var ns = await NamespaceWithConfigMapsAsync("remaining", 5);

        var first = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2);
        var second = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2, continueParameter: first.Metadata.ContinueProperty);
        var last = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 2, continueParameter: second.Metadata.ContinueProperty);
        var selected = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 1, labelSelector: "even=True");

        first.Metadata.RemainingItemCount.Should().Be(3);
        second.Metadata.RemainingItemCount.Should().Be(1);
        last.Metadata.RemainingItemCount.Should().BeNull("the last page has no continue and nothing remains");
        selected.Metadata.ContinueProperty.Should().NotBeNullOrEmpty();
        selected.Metadata.RemainingItemCount.Should().BeNull("with a selector upstream cannot count what remains, and says nothing");
    }

    private const string MetadataList = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
    private const string MetadataObject = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

    private async Task<(HttpStatusCode Code, JsonObject Body)> GetAsync(string path, string accept)
    {
        using var http = Server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Test]
    public async Task A_metadata_client_gets_PartialObjectMetadata_and_PartialObjectMetadataList_as_client_go_asks()
    {
        var ns = await NamespaceWithConfigMapsAsync("partial", 3);

        var (listCode, list) = await GetAsync($"/api/v1/namespaces/{ns}/configmaps?limit=2", MetadataList);
        var (getCode, one) = await GetAsync($"/api/v1/namespaces/{ns}/configmaps/cm-0", MetadataObject);
        var (wrongCode, wrong) = await GetAsync($"/api/v1/namespaces/{ns}/configmaps/cm-0", MetadataList);

        listCode.Should().Be(HttpStatusCode.OK);
        list["kind"]!.GetValue<string>().Should().Be("PartialObjectMetadataList");
        list["apiVersion"]!.GetValue<string>().Should().Be("meta.k8s.io/v1");
        list["metadata"]!["continue"].Should().NotBeNull("the list's own metadata is kept");
        list["items"]!.AsArray().Should().HaveCount(2).And.OnlyContain(i => i!["kind"]!.GetValue<string>() == "PartialObjectMetadata"
            && i["data"] == null && i["metadata"]!["labels"]!["even"] != null, "each item is its metadata alone");
        getCode.Should().Be(HttpStatusCode.OK);
        one["kind"]!.GetValue<string>().Should().Be("PartialObjectMetadata");
        one["metadata"]!["name"]!.GetValue<string>().Should().Be("cm-0");
        one.ContainsKey("data").Should().BeFalse();
        wrongCode.Should().Be(HttpStatusCode.NotAcceptable, wrong.ToJsonString());
    }

    [Test]
    public async Task A_metadata_informers_watch_carries_PartialObjectMetadata()
    {
        var ns = await NamespaceWithConfigMapsAsync("partialwatch", 1);
        using var http = Server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/namespaces/{ns}/configmaps?watch=true&timeoutSeconds=2");
        request.Headers.TryAddWithoutValidation("Accept", MetadataObject);

        using var response = await http.SendAsync(request);
        var events = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!).ToList();

        events.Should().ContainSingle();
        events[0]["type"]!.GetValue<string>().Should().Be("ADDED");
        events[0]["object"]!["kind"]!.GetValue<string>().Should().Be("PartialObjectMetadata");
        events[0]["object"]!["data"].Should().BeNull();
        events[0]["object"]!["metadata"]!["name"]!.GetValue<string>().Should().Be("cm-0");
    }
}
