using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// The bounds kube-apiserver puts on what a request may cost (issue 33.6): body size, nesting,
/// YAML aliases and JSON patch growth. Each input is small, and would cost the server far more
/// than it is without the bound; after each refusal the server still answers.
/// </summary>
public class RequestLimitTests : LocalClusterFixture
{
    private const string ApplyYaml = "application/apply-patch+yaml";

    private HttpClient http = null!;

    [OneTimeSetUp]
    public void CreateHttpClient() => http = Server.CreateHttpClient();

    [OneTimeTearDown]
    public void DisposeHttpClient() => http.Dispose();

    private static StringContent Body(string text, string mediaType) => new(text, Encoding.UTF8)
    {
        Headers = { ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType) },
    };

    private async Task<(HttpStatusCode Code, JsonObject Status)> SendAsync(HttpMethod method, string path, HttpContent content)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var status = JsonNode.Parse(text) as JsonObject ?? [];
        // A Status is what is expected; anything else (an object the bound let through) is cut short for the failure message.
        return (response.StatusCode, status["kind"]?.GetValue<string>() == "Status" ? status : new JsonObject { ["unexpected"] = text[..Math.Min(text.Length, 500)] });
    }

    private async Task ServerStillAnswersAsync() =>
        (await Client.CoreV1.ReadNamespaceAsync("default")).Metadata.Name.Should().Be("default", "the server survived the request");

    [Test]
    public async Task A_write_body_larger_than_3_MiB_is_refused_with_413()
    {
        var ns = await NewNamespaceAsync("big");
        var configMap = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "ConfigMap",
            ["metadata"] = new JsonObject { ["name"] = "big" },
            ["data"] = new JsonObject { ["blob"] = new string('x', (3 * 1024 * 1024) + 1) },
        };

        var (code, status) = await SendAsync(HttpMethod.Post, $"/api/v1/namespaces/{ns}/configmaps", Body(configMap.ToJsonString(), "application/json"));

        code.Should().Be(HttpStatusCode.RequestEntityTooLarge, status.ToJsonString());
        status["reason"]!.GetValue<string>().Should().Be("RequestEntityTooLarge");
        status["message"]!.GetValue<string>().Should().Be("Request entity too large: limit is 3145728");
        await ServerStillAnswersAsync();
    }

    // 50,000 brackets (100 KB) are the report's: without the bound, a stack overflow ended the process.
    [TestCase(1_000)]
    [TestCase(50_000)]
    public async Task An_applied_YAML_body_nested_deeper_than_the_limit_is_refused_with_400(int depth)
    {
        var ns = await NewNamespaceAsync("deep");
        var yaml = $"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\n  annotations:\n    a: {new string('[', depth)}{new string(']', depth)}\n";

        var (code, status) = await SendAsync(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/configmaps/deep?fieldManager=test", Body(yaml, ApplyYaml));

        code.Should().Be(HttpStatusCode.BadRequest, status.ToJsonString());
        status["message"]!.GetValue<string>().Should().Contain("exceeded max depth of 64");
        await ServerStillAnswersAsync();
    }

    [Test]
    public async Task An_applied_YAML_body_whose_aliases_expand_without_bound_is_refused_with_400()
    {
        var ns = await NewNamespaceAsync("aliases");
        // Ten levels of four aliases: 4^10 (a million) values from 300 bytes.
        var yaml = new StringBuilder("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nbomb:\n  l0: &l0 [x, x, x, x]\n");
        for (var level = 1; level <= 10; level++)
        {
            yaml.Append(CultureFormat($"  l{level}: &l{level} [*l{level - 1}, *l{level - 1}, *l{level - 1}, *l{level - 1}]\n"));
        }

        var (code, status) = await SendAsync(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/configmaps/bomb?fieldManager=test", Body(yaml.ToString(), ApplyYaml));

        code.Should().Be(HttpStatusCode.BadRequest, status.ToJsonString());
        status["message"]!.GetValue<string>().Should().Contain("document contains excessive aliasing");
        await ServerStillAnswersAsync();
    }

    private static string CultureFormat(FormattableString text) => FormattableString.Invariant(text);

    [Test]
    public async Task A_JSON_patch_whose_copies_grow_the_object_past_the_limit_is_refused_with_422()
    {
        var ns = await NewNamespaceAsync("copies");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "grows" }, Data = new Dictionary<string, string> { ["seed"] = new('x', 1024) } }, ns);
        // Each copy doubles /data: 13 of them would make 8 MiB of 1 KiB.
        var operations = new JsonArray([.. Enumerable.Range(0, 13).Select(i => (JsonNode)new JsonObject { ["op"] = "copy", ["from"] = "/data", ["path"] = $"/data/c{i}" })]);

        var (code, status) = await SendAsync(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/configmaps/grows", Body(operations.ToJsonString(), "application/json-patch+json"));

        code.Should().Be((HttpStatusCode)422, status.ToJsonString());
        status["message"]!.GetValue<string>().Should().Contain("exceeding the limit 3145728");
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("grows", ns)).Data.Keys.Should().Equal("seed");
    }

    [Test]
    public async Task A_JSON_patch_of_more_than_10000_operations_is_refused_with_413()
    {
        var ns = await NewNamespaceAsync("manyops");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "target" } }, ns);
        var operations = new JsonArray([.. Enumerable.Range(0, 10_001).Select(_ => (JsonNode)new JsonObject { ["op"] = "test", ["path"] = "/kind", ["value"] = "ConfigMap" })]);

        var (code, status) = await SendAsync(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/configmaps/target", Body(operations.ToJsonString(), "application/json-patch+json"));

        code.Should().Be(HttpStatusCode.RequestEntityTooLarge, status.ToJsonString());
        status["message"]!.GetValue<string>().Should().Be("The allowed maximum operations in a JSON patch is 10000, got 10001");
        await ServerStillAnswersAsync();
    }
}
