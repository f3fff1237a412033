using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// Server-side apply and managedFields as kube-apiserver keeps them (issue 18), at the depth that
/// <c>kubectl apply --server-side</c> and GitOps tools (Flux, Argo CD) use: each test drives the
/// real kubectl or raw HTTP and reads the result back through KubernetesClient.
/// </summary>
public class ServerSideApplyTests : LocalClusterFixture
{
    private KubectlSession kubectl = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        kubectl = new KubectlSession(Server);
        await InstallCrdsAsync();
    }

    [OneTimeTearDown]
    public void EndKubectlSession() => kubectl.Dispose();

    private static string ServiceManifest(string ns, string labels = "", params (int Port, int TargetPort)[] ports) => $"""
        apiVersion: v1
        kind: Service
        metadata:
          name: web
          namespace: {ns}
        {labels}
        spec:
          type: LoadBalancer
          ports:
        {string.Join('\n', ports.Select(p => $"  - name: p{p.Port}\n    port: {p.Port}\n    targetPort: {p.TargetPort}"))}
        """;

    private async Task<ProcessResult> ApplyAsync(string manifest, params string[] flags)
    {
        var result = await kubectl.RunWithInputAsync(manifest, ["apply", "--server-side", .. flags, "-f", "-"]);
        return result;
    }

    /// <summary>The fields each manager owns, as "manager/operation" to the paths of its FieldsV1 (".spec.type").</summary>
    private static Dictionary<string, List<string>> Owners(V1ObjectMeta metadata)
    {
        var owners = new Dictionary<string, List<string>>();
        foreach (var entry in metadata.ManagedFields ?? [])
        {
            var tree = JsonNode.Parse(KubernetesJson.Serialize(entry.FieldsV1))!.AsObject();
            var paths = new List<string>();
            void Walk(JsonObject node, string path)
            {
                foreach (var (key, child) in node)
                {
                    var at = key == "." ? path : path + "/" + key;
                    if (child is JsonObject { Count: > 0 } inner)
                    {
                        Walk(inner, at);
                    }
                    else if (key != ".")
                    {
                        paths.Add(at);
                    }
                }
            }
            Walk(tree, string.Empty);
            owners[$"{entry.Manager}/{entry.Operation}{(entry.Subresource is null ? string.Empty : "/" + entry.Subresource)}"] = paths;
        }
        return owners;
    }

    [Test]
    public async Task Apply_creates_a_missing_object_and_records_the_applier_as_the_manager_of_the_fields_it_set()
    {
        var ns = await NewNamespaceAsync("ssa-create");

        var result = await ApplyAsync(ServiceManifest(ns, "  labels: {app: web}", (80, 8080)));

        result.ExitCode.Should().Be(0, result.Error);
        result.Output.Should().Contain("service/web serverside-applied");
        var service = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);
        service.Spec.ClusterIP.Should().NotBeNullOrEmpty("created as any Service, with a cluster IP");
        var owners = Owners(service.Metadata);
        owners.Should().ContainKey("kubectl/Apply");
        owners["kubectl/Apply"].Should().BeEquivalentTo(
            "/f:metadata/f:labels/f:app", "/f:spec/f:type",
            "/f:spec/f:ports/k:{\"port\":80,\"protocol\":\"TCP\"}/f:name", "/f:spec/f:ports/k:{\"port\":80,\"protocol\":\"TCP\"}/f:port",
            "/f:spec/f:ports/k:{\"port\":80,\"protocol\":\"TCP\"}/f:targetPort");
        owners["kubectl/Apply"].Should().NotContain(p => p.Contains("clusterIP", StringComparison.Ordinal), "the server's defaults are nobody's");
    }

    [Test]
    public async Task Applying_a_change_to_a_field_another_manager_set_is_a_conflict_unless_forced()
    {
        var ns = await NewNamespaceAsync("ssa-conflict");
        (await ApplyAsync(ServiceManifest(ns, "", (80, 8080)))).ExitCode.Should().Be(0);
        var patched = await kubectl.RunAsync("patch", "service", "web", "-n", ns, "--type=merge", "-p", """{"spec":{"ports":[{"name":"p80","port":80,"targetPort":7070}]}}""");
        patched.ExitCode.Should().Be(0, patched.Error);

        var refused = await ApplyAsync(ServiceManifest(ns, "", (80, 9090)));

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("Apply failed with 1 conflict: conflict with \"kubectl-patch\" using v1: .spec.ports[port=80,protocol=\"TCP\"].targetPort");
        (await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Spec.Ports[0].TargetPort.Value.Should().Be("7070", "a refused apply changes nothing");

        var forced = await ApplyAsync(ServiceManifest(ns, "", (80, 9090)), "--force-conflicts");

        forced.ExitCode.Should().Be(0, forced.Error);
        var service = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);
        service.Spec.Ports[0].TargetPort.Value.Should().Be("9090");
        Owners(service.Metadata)["kubectl/Apply"].Should().Contain("/f:spec/f:ports/k:{\"port\":80,\"protocol\":\"TCP\"}/f:targetPort", "forcing takes the field over");
        Owners(service.Metadata).GetValueOrDefault("kubectl-patch/Update", []).Should().NotContain(p => p.EndsWith("f:targetPort", StringComparison.Ordinal));
    }

    [Test]
    public async Task Applying_the_same_value_another_manager_set_shares_the_field_without_a_conflict()
    {
        var ns = await NewNamespaceAsync("ssa-share");
        (await ApplyAsync(ServiceManifest(ns, "", (80, 8080)), "--field-manager=team-a")).ExitCode.Should().Be(0);

        var second = await ApplyAsync(ServiceManifest(ns, "", (80, 8080)), "--field-manager=team-b");

        second.ExitCode.Should().Be(0, second.Error);
        var owners = Owners((await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Metadata);
        owners["team-a/Apply"].Should().Contain("/f:spec/f:type");
        owners["team-b/Apply"].Should().Contain("/f:spec/f:type");
    }

    [Test]
    public async Task Fields_a_manager_applied_before_and_applies_no_longer_are_removed_unless_another_manager_owns_them()
    {
        var ns = await NewNamespaceAsync("ssa-remove");
        (await ApplyAsync(ServiceManifest(ns, "  labels: {app: web, tier: edge}", (80, 8080), (443, 8443)))).ExitCode.Should().Be(0);
        // Another manager applies the 443 port too: it stays when the first one drops it.
        (await ApplyAsync(ServiceManifest(ns, "", (443, 8443)), "--field-manager=other")).ExitCode.Should().Be(0);

        var result = await ApplyAsync(ServiceManifest(ns, "  labels: {app: web}", (80, 8080)));

        result.ExitCode.Should().Be(0, result.Error);
        var service = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);
        service.Metadata.Labels.Should().Equal(new Dictionary<string, string> { ["app"] = "web" }, "the label applied before and no longer is gone");
        service.Spec.Ports.Select(p => p.Port).Should().BeEquivalentTo([80, 443], "the port another manager applied stays");

        (await ApplyAsync(ServiceManifest(ns, "", (443, 8443)), "--field-manager=other", "--dry-run=server")).ExitCode.Should().Be(0);
        var other = await ApplyAsync(ServiceManifest(ns, "", (8443, 8443)), "--field-manager=other");
        other.ExitCode.Should().Be(0, other.Error);
        (await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Spec.Ports.Select(p => p.Port).Should().BeEquivalentTo([80, 8443],
            "443, now nobody's, went; the list was merged item by item by its keys");
        (await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Metadata.Labels.Should().ContainKey("app");
    }

    [Test]
    public async Task Moving_from_client_side_apply_hands_the_fields_to_kubectl_without_conflicts()
    {
        var ns = await NewNamespaceAsync("ssa-upgrade");
        var manifest = $"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              namespace: {ns}
            data:
              a: "1"
              b: "2"
            """;
        (await kubectl.RunWithInputAsync(manifest, "apply", "-f", "-")).ExitCode.Should().Be(0);
        Owners((await Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns)).Metadata).Should().ContainKey("kubectl-client-side-apply/Update");

        var result = await ApplyAsync(manifest);

        result.ExitCode.Should().Be(0, result.Error);
        var owners = Owners((await Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns)).Metadata);
        owners["kubectl/Apply"].Should().BeEquivalentTo("/f:data/f:a", "/f:data/f:b");
        owners.Should().NotContainKey("kubectl-client-side-apply/Update", "kubectl moved its fields over by patching managedFields");
    }

    [Test]
    public async Task A_server_side_dry_run_apply_changes_nothing_and_kubectl_diff_shows_the_change()
    {
        var ns = await NewNamespaceAsync("ssa-dry");
        (await ApplyAsync(ServiceManifest(ns, "", (80, 8080)))).ExitCode.Should().Be(0);
        var before = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);

        var dry = await ApplyAsync(ServiceManifest(ns, "", (80, 9090)), "--dry-run=server");
        var diff = await kubectl.RunWithInputAsync(ServiceManifest(ns, "", (80, 9090)), "diff", "--server-side", "-f", "-");

        dry.ExitCode.Should().Be(0, dry.Error);
        dry.Output.Should().Contain("serverside-applied (server dry run)");
        diff.ExitCode.Should().Be(1, "kubectl diff exits 1 when there are differences: " + diff.Error);
        diff.Output.Should().Contain("-    targetPort: 8080").And.Contain("+    targetPort: 9090");
        (await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Metadata.ResourceVersion.Should().Be(before.Metadata.ResourceVersion);
    }

    [Test]
    public async Task An_update_owns_the_fields_it_changes_and_takes_them_from_the_applier()
    {
        var ns = await NewNamespaceAsync("ssa-update");
        (await ApplyAsync(ServiceManifest(ns, "  labels: {app: web}", (80, 8080)))).ExitCode.Should().Be(0);

        var service = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);
        service.Metadata.Labels["app"] = "shop";
        await Client.CoreV1.ReplaceNamespacedServiceAsync(service, "web", ns, fieldManager: "editor");

        var owners = Owners((await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Metadata);
        owners["editor/Update"].Should().Equal(["/f:metadata/f:labels/f:app"], "only what it changed");
        owners["kubectl/Apply"].Should().NotContain("/f:metadata/f:labels/f:app").And.Contain("/f:spec/f:type");
    }

    [Test]
    public async Task Status_is_applied_through_the_status_subresource_and_ignored_on_the_main_resource()
    {
        var ns = await NewNamespaceAsync("ssa-status");
        (await ApplyAsync(ServiceManifest(ns, "", (80, 8080)))).ExitCode.Should().Be(0);
        var status = $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              namespace: {ns}
            status:
              loadBalancer:
                ingress:
                - ip: 192.0.2.7
                  ipMode: VIP
            """;

        var main = await kubectl.RunWithInputAsync(status, "apply", "--server-side", "--field-manager=lb", "-f", "-");
        var viaStatus = await kubectl.RunWithInputAsync(status, "apply", "--server-side", "--field-manager=lb", "--subresource=status", "-f", "-");

        main.ExitCode.Should().Be(0, main.Error);
        viaStatus.ExitCode.Should().Be(0, viaStatus.Error);
        var service = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);
        service.Status.LoadBalancer.Ingress.Should().ContainSingle().Which.Ip.Should().Be("192.0.2.7");
        var owners = Owners(service.Metadata);
        owners["lb/Apply/status"].Should().Equal(["/f:status/f:loadBalancer/f:ingress"], "an atomic list, owned whole");
        owners.GetValueOrDefault("lb/Apply", []).Should().BeEmpty("the main resource ignored the status it was given");
        service.Spec.Ports.Should().ContainSingle("the status subresource changed nothing else");
    }

    [Test]
    public async Task Apply_takes_YAML_over_HTTP_and_refuses_it_without_a_field_manager_or_with_force_on_another_patch()
    {
        var ns = await NewNamespaceAsync("ssa-http");
        using var http = Server.CreateHttpClient();
        var yaml = $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: typed
              namespace: {ns}
              labels:
                quoted: "42"
                plain: hello
            spec:
              type: LoadBalancer
              ports:
              - name: http
                port: 80
                targetPort: web
            """;
        HttpContent Body(string mediaType) => new StringContent(yaml, Encoding.UTF8, mediaType);
        var url = $"/api/v1/namespaces/{ns}/services/typed";

        var unnamed = await http.PatchAsync(url, Body("application/apply-patch+yaml"));
        var forcedMerge = await http.PatchAsync(url + "?fieldManager=a&force=true", new StringContent("{}", Encoding.UTF8, "application/merge-patch+json"));
        var applied = await http.PatchAsync(url + "?fieldManager=scripts", Body("application/apply-patch+yaml"));

        ((int)unnamed.StatusCode).Should().Be(422);
        (await unnamed.Content.ReadAsStringAsync()).Should().Contain("fieldManager: Required value: is required for apply patch");
        ((int)forcedMerge.StatusCode).Should().Be(422);
        (await forcedMerge.Content.ReadAsStringAsync()).Should().Contain("force: Forbidden: may not be specified for non-apply patch");
        applied.StatusCode.Should().Be(HttpStatusCode.Created, await applied.Content.ReadAsStringAsync()); // it created the Service
        var stored = await Client.CoreV1.ReadNamespacedServiceAsync("typed", ns);
        stored.Metadata.Labels.Should().Equal(new Dictionary<string, string> { ["quoted"] = "42", ["plain"] = "hello" });
        stored.Spec.Ports.Should().ContainSingle().Which.Port.Should().Be(80, "a plain YAML number is a number");
        stored.Spec.Ports[0].TargetPort.Value.Should().Be("web");
    }

    [Test]
    public async Task ManagedFields_survive_clients_that_do_not_send_them_and_one_empty_entry_clears_them()
    {
        var ns = await NewNamespaceAsync("ssa-clear");
        (await ApplyAsync(ServiceManifest(ns, "", (80, 8080)))).ExitCode.Should().Be(0);

        var service = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);
        service.Metadata.ManagedFields = null;
        service.Metadata.Annotations = new Dictionary<string, string> { ["note"] = "kept" };
        await Client.CoreV1.ReplaceNamespacedServiceAsync(service, "web", ns, fieldManager: "unaware");
        Owners((await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Metadata).Keys.Should().BeEquivalentTo(["kubectl/Apply", "unaware/Update"]);

        await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"metadata":{"managedFields":[{}]}}""", V1Patch.PatchType.MergePatch), "web", ns);

        (await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Metadata.ManagedFields.Should().BeNullOrEmpty();
    }

    [Test]
    public async Task A_GitOps_tool_applies_an_IPPool_its_webhook_free_schema_validates_and_a_bad_one_is_refused()
    {
        var pool = """
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata:
              name: gitops
            spec:
              addresses: ["198.51.100.0/28"]
            """;

        var applied = await ApplyAsync(pool, "--field-manager=kustomize-controller");
        var invalid = await ApplyAsync(pool.Replace("198.51.100.0/28", "198.51.100.0/28\", 42, \"", StringComparison.Ordinal), "--field-manager=kustomize-controller");

        applied.ExitCode.Should().Be(0, applied.Error);
        invalid.ExitCode.Should().NotBe(0);
        invalid.Error.Should().Contain("spec.addresses[1]");
        var stored = await Client.CustomObjects.GetClusterCustomObjectAsync("ipvsoperator.io", "v1alpha1", "ippools", "gitops");
        var owners = JsonNode.Parse(KubernetesJson.Serialize(stored))!["metadata"]!["managedFields"]!.AsArray();
        owners.Should().ContainSingle(o => o!["manager"]!.GetValue<string>() == "kustomize-controller" && o["operation"]!.GetValue<string>() == "Apply");
    }

    [Test]
    public async Task An_apply_whose_body_names_another_kind_is_refused()
    {
        var wrong = new V1Patch("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"}}""", V1Patch.PatchType.ApplyPatch);

        var refused = await FluentActions.Awaiting(() => Client.CoreV1.PatchNamespacedServiceAsync(wrong, "web", "default", fieldManager: "x"))
            .Should().ThrowAsync<HttpOperationException>();

        refused.Which.Response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }
}
