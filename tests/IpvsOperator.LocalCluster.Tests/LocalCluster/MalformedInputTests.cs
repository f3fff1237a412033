using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// Bodies and selectors a client got wrong are that client's 400, with a message naming what was
/// wrong, never a 500 (issue 33): a directive of the wrong type, a time out of any calendar's range,
/// and the selectors upstream's parser refuses.
/// </summary>
public class MalformedInputTests : LocalClusterFixture
{
    private HttpClient http = null!;

    [OneTimeSetUp]
    public void CreateHttpClient() => http = Server.CreateHttpClient();

    [OneTimeTearDown]
    public void DisposeHttpClient() => http.Dispose();

    private async Task<(HttpStatusCode Code, string Message)> SendAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, (JsonNode.Parse(text) as JsonObject)?["message"]?.GetValue<string>() ?? text);
    }

    private static StringContent Json(string text, string mediaType) => new(text, Encoding.UTF8) { Headers = { ContentType = new(mediaType) } };

    private async Task<string> ServiceAsync()
    {
        var ns = await NewNamespaceAsync("malformed");
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Name = "http", Port = 80 }] },
        }, ns);
        return ns;
    }

    [TestCase("""{"spec":{"$patch":5}}""", "$patch at spec must be one of replace, merge or delete, got 5")]
    [TestCase("""{"$patch":true}""", "$patch at the top must be one of replace, merge or delete, got true")]
    [TestCase("""{"spec":{"ports":[{"port":80,"$patch":[1]}]}}""", "$patch at spec.ports must be one of replace, merge or delete, got [1]")]
    [TestCase("""{"spec":{"$setElementOrder/ports":["a"]}}""", "$setElementOrder/spec.ports must list objects with their merge key \"port\", got \"a\"")]
    [TestCase("""{"spec":{"$retainKeys":[5]}}""", "$retainKeys at spec must list field names, got 5")]
    public async Task A_strategic_merge_patch_with_a_directive_of_the_wrong_type_is_a_400(string patch, string message)
    {
        var ns = await ServiceAsync();

        var (code, text) = await SendAsync(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/services/web", Json(patch, "application/strategic-merge-patch+json"));

        code.Should().Be(HttpStatusCode.BadRequest, text);
        text.Should().Contain(message);
    }

    [TestCase("""[{"op":5,"path":"/metadata/labels"}]""", "\"op\" must be text, got 5")]
    [TestCase("""[{"op":"add","path":{"a":1},"value":1}]""", "\"path\" must be text, got {\"a\":1}")]
    public async Task A_JSON_patch_with_a_field_of_the_wrong_type_is_a_400(string patch, string message)
    {
        var ns = await ServiceAsync();

        var (code, text) = await SendAsync(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/services/web", Json(patch, "application/json-patch+json"));

        code.Should().Be(HttpStatusCode.BadRequest, text);
        text.Should().Contain(message);
    }

    [Test]
    public async Task A_protobuf_time_of_2_to_the_62_seconds_is_a_400_naming_the_range()
    {
        // ConfigMap{metadata: {name: "t", creationTimestamp: {seconds: 2^62}}} in the "k8s\0" envelope.
        byte[] seconds = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
        byte[] time = [0x08, .. seconds];
        byte[] meta = [0x0a, 0x01, (byte)'t', 0x42, (byte)time.Length, .. time];
        byte[] configMap = [0x0a, (byte)meta.Length, .. meta];
        byte[] typeMeta = [0x0a, 0x02, .. "v1"u8, 0x12, 0x09, .. "ConfigMap"u8];
        var content = new ByteArrayContent([.. "k8s\0"u8, 0x0a, (byte)typeMeta.Length, .. typeMeta, 0x12, (byte)configMap.Length, .. configMap]);
        content.Headers.ContentType = new("application/vnd.kubernetes.protobuf");

        var (code, text) = await SendAsync(HttpMethod.Post, "/api/v1/namespaces/default/configmaps", content);

        code.Should().Be(HttpStatusCode.BadRequest, text);
        text.Should().Contain("4611686018427387904 seconds since the epoch is out of range").And.Contain("9999-12-31T23:59:59Z");
    }

    [Test]
    public async Task A_JSON_time_of_2_to_the_62_seconds_is_a_400()
    {
        var ns = await NewNamespaceAsync("lease");
        var lease = """{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"l"},"spec":{"renewTime":4611686018427387904}}""";

        var (code, text) = await SendAsync(HttpMethod.Post, $"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", Json(lease, "application/json"));

        code.Should().Be(HttpStatusCode.BadRequest, text);
        text.Should().Contain("renewTime");
    }

    // Upstream's parser (k8s.io/apimachinery/pkg/labels) and its messages.
    [TestCase("!!a", "unable to parse requirement: found '!', expected: identifier")]
    [TestCase("a==b==c", "found '==', expected: ',' or 'end of string'")]
    [TestCase("a in (x", "unable to parse requirement: found '', expected: ',' or ')'")]
    [TestCase("a,", "found '', expected: identifier after ','")]
    [TestCase("a in x", "unable to parse requirement: found 'x' expected: '('")]
    public async Task A_label_selector_upstream_refuses_is_a_400_with_its_message(string selector, string message)
    {
        var (code, text) = await SendAsync(HttpMethod.Get, $"/api/v1/namespaces/default/configmaps?labelSelector={Uri.EscapeDataString(selector)}");

        code.Should().Be(HttpStatusCode.BadRequest, text);
        text.Should().Contain(message);
    }

    [Test]
    public async Task Notin_with_no_values_is_upstreams_notin_the_empty_value_and_set_syntax_keeps_empty_values()
    {
        var ns = await NewNamespaceAsync("notin");
        foreach (var (name, value) in new[] { ("empty", string.Empty), ("set", "x"), ("none", null) })
        {
            await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
            {
                Metadata = new V1ObjectMeta { Name = name, Labels = value is null ? null : new Dictionary<string, string> { ["a"] = value } },
            }, ns);
        }

        async Task<IEnumerable<string>> Selected(string selector) =>
            (await Client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: selector)).Items.Select(c => c.Metadata.Name).Where(n => n != "kube-root-ca.crt");

        (await Selected("a notin ()")).Should().BeEquivalentTo("set", "none");
        (await Selected("a in (,x)")).Should().BeEquivalentTo("empty", "set");
        (await Selected("a in (x)")).Should().BeEquivalentTo("set");
        (await Selected("!a")).Should().BeEquivalentTo("none");
        (await Selected("a=")).Should().BeEquivalentTo("empty");
        (await Selected("a, a!=x")).Should().BeEquivalentTo("empty");
    }
}
