using System.Net;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

public class CrudSemanticsTests : LocalClusterFixture
{
    [Test]
    public async Task Discovery_documents_name_the_served_types()
    {
        using var http = Server.CreateHttpClient();
        (await http.GetStringAsync("/version")).Should().Contain("\"gitVersion\"");
        (await http.GetStringAsync("/healthz")).Should().Be("ok");
        (await http.GetStringAsync("/api")).Should().Contain("\"v1\"");
        var core = await Client.CoreV1.GetAPIResourcesAsync();
        core.Resources.Should().Contain(r => r.Name == "services" && r.Namespaced && r.ShortNames.Contains("svc"));
        core.Resources.Should().Contain(r => r.Name == "services/status");
        var groups = await http.GetStringAsync("/apis");
        groups.Should().Contain("discovery.k8s.io").And.Contain("coordination.k8s.io").And.Contain("apiextensions.k8s.io").And.Contain("admissionregistration.k8s.io");
        (await Client.CoordinationV1.GetAPIResourcesAsync()).Resources.Should().Contain(r => r.Name == "leases");
    }

    [Test]
    public async Task A_watch_on_a_quiet_resource_answers_with_its_headers_at_once()
    {
        var ns = await NewNamespaceAsync();
        using var http = Server.CreateHttpClient();

        // Nothing will happen in this namespace: the headers must not wait for an event (kubectl wait, informers).
        using var reply = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion=0", HttpCompletionOption.ResponseHeadersRead)
            .WaitAsync(TimeSpan.FromSeconds(15));

        reply.StatusCode.Should().Be(System.Net.HttpStatusCode.OK);
    }

    [Test]
    public async Task A_Service_gets_uid_timestamp_cluster_IP_node_ports_and_defaults()
    {
        var created = await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("web"), "default");

        Guid.TryParse(created.Metadata.Uid, out _).Should().BeTrue();
        created.Metadata.CreationTimestamp.Should().BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(1));
        created.Spec.ClusterIP.Should().StartWith("10.96.");
        created.Spec.ClusterIPs.Should().Equal(created.Spec.ClusterIP);
        created.Spec.IpFamilies.Should().Equal("IPv4");
        created.Spec.Ports[0].NodePort.Should().BeInRange(30000, 32767);
        created.Spec.Ports[0].Protocol.Should().Be("TCP");
        created.Spec.ExternalTrafficPolicy.Should().Be("Cluster");
        created.Spec.SessionAffinity.Should().Be("None");
        var other = await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("web2"), "default");
        other.Spec.ClusterIP.Should().NotBe(created.Spec.ClusterIP);
        other.Spec.Ports[0].NodePort.Should().NotBe(created.Spec.Ports[0].NodePort);
    }

    [Test]
    public async Task Every_write_gets_a_higher_resource_version()
    {
        var first = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "rv" }, Data = new Dictionary<string, string> { ["a"] = "1" } }, "default");
        first.Data["a"] = "2";
        var second = await Client.CoreV1.ReplaceNamespacedConfigMapAsync(first, "rv", "default");
        var other = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "rv2" } }, "default");

        long.Parse(second.Metadata.ResourceVersion).Should().BeGreaterThan(long.Parse(first.Metadata.ResourceVersion));
        long.Parse(other.Metadata.ResourceVersion).Should().BeGreaterThan(long.Parse(second.Metadata.ResourceVersion));
    }

    [Test]
    public async Task An_update_with_a_stale_resource_version_is_a_conflict()
    {
        var created = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "stale" } }, "default");
        created.Data = new Dictionary<string, string> { ["x"] = "1" };
        await Client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "stale", "default");

        created.Data["x"] = "2";
        var error = await ApiErrors.Of(() => Client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "stale", "default"));

        error.Code.Should().Be(HttpStatusCode.Conflict);
        error.Reason.Should().Be("Conflict");
        error.Message.Should().Contain("the object has been modified");
    }

    [Test]
    public async Task Creating_an_existing_name_is_AlreadyExists()
    {
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "dup" } }, "default");

        var error = await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "dup" } }, "default"));

        error.Code.Should().Be(HttpStatusCode.Conflict);
        error.Reason.Should().Be("AlreadyExists");
        error.Message.Should().Be("configmaps \"dup\" already exists");
    }

    [Test]
    public async Task GenerateName_makes_a_unique_name()
    {
        var a = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { GenerateName = "gen-" } }, "default");
        var b = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { GenerateName = "gen-" } }, "default");

        a.Metadata.Name.Should().StartWith("gen-").And.HaveLength(9);
        b.Metadata.Name.Should().NotBe(a.Metadata.Name);
    }

    [Test]
    public async Task Errors_are_Status_objects_with_the_right_code_and_reason()
    {
        var missing = await ApiErrors.Of(() => Client.CoreV1.ReadNamespacedServiceAsync("nope", "default"));
        missing.Code.Should().Be(HttpStatusCode.NotFound);
        missing.Reason.Should().Be("NotFound");
        missing.Message.Should().Be("services \"nope\" not found");

        var noNamespace = await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("x"), "no-such-ns"));
        noNamespace.Code.Should().Be(HttpStatusCode.NotFound);
        noNamespace.Message.Should().Be("namespaces \"no-such-ns\" not found");

        var badName = await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "Bad_Name" } }, "default"));
        badName.Code.Should().Be((HttpStatusCode)422);
        badName.Reason.Should().Be("Invalid");
        badName.Message.Should().Contain("metadata.name").And.Contain("RFC 1123");
    }

    [Test]
    public async Task An_update_that_changes_nothing_writes_nothing()
    {
        var created = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "same" } }, "default");

        var again = await Client.CoreV1.ReplaceNamespacedConfigMapAsync(created, "same", "default");

        again.Metadata.ResourceVersion.Should().Be(created.Metadata.ResourceVersion);
    }

    [Test]
    public async Task The_main_resource_ignores_status_and_status_ignores_the_spec()
    {
        var created = await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("split"), "default");
        created.Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "192.0.2.1" }] } };
        created.Spec.Ports[0].Port = 81;

        var viaMain = await Client.CoreV1.ReplaceNamespacedServiceAsync(created, "split", "default");
        viaMain.Spec.Ports[0].Port.Should().Be(81);
        viaMain.Status?.LoadBalancer?.Ingress.Should().BeNullOrEmpty("status is written through /status only");

        viaMain.Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "192.0.2.1", IpMode = "Proxy" }] } };
        viaMain.Spec.Ports[0].Port = 82;
        var viaStatus = await Client.CoreV1.ReplaceNamespacedServiceStatusAsync(viaMain, "split", "default");
        viaStatus.Status.LoadBalancer.Ingress[0].Ip.Should().Be("192.0.2.1");
        viaStatus.Status.LoadBalancer.Ingress[0].IpMode.Should().Be("Proxy");
        viaStatus.Spec.Ports[0].Port.Should().Be(81, "the spec is not written through /status");
    }
}
