using System.Net;
using System.Text.Json.Nodes;
using IpvsOperator.Entities;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// Where LocalCluster was more lenient than kube-apiserver (issue 18), one test per upstream
/// behaviour, through the real KubernetesClient or kubectl over HTTP: a bug of the operator that a
/// real cluster would refuse must be refused here too.
/// </summary>
public class ApiServerConformanceTests : LocalClusterFixture
{
    private KubectlSession kubectl = null!;

    [OneTimeSetUp]
    public void StartKubectlSession() => kubectl = new KubectlSession(Server);

    [OneTimeTearDown]
    public void EndKubectlSession() => kubectl.Dispose();

    private Task<ProcessResult> Kubectl(params string[] arguments) => kubectl.RunAsync(arguments);

    private static V1Service Service(string name, params V1ServicePort[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = ports.Length > 0 ? ports : [new V1ServicePort { Name = "http", Port = 80 }] },
    };

    /// <summary>A 422 whose causes name <paramref name="field"/> with a message starting <paramref name="message"/>.</summary>
    private static async Task ShouldBeInvalidAsync(Func<Task> write, string field, string message)
    {
        var refused = (await write.Should().ThrowAsync<HttpOperationException>()).Which;
        refused.Response.StatusCode.Should().Be((HttpStatusCode)422, refused.Response.Content);
        var causes = JsonNode.Parse(refused.Response.Content)!["details"]!["causes"]!.AsArray();
        causes.Should().Contain(c => c!["field"]!.GetValue<string>() == field && c["message"]!.GetValue<string>().StartsWith(message, StringComparison.Ordinal),
            $"the refusal names {field}: {refused.Response.Content}");
    }

    [TestCase("1svc", "metadata.name", "Invalid value: \"1svc\": a DNS-1035 label")]
    [TestCase("a.b", "metadata.name", "Invalid value: \"a.b\": a DNS-1035 label")]
    public async Task A_Service_name_must_be_a_DNS_1035_label(string name, string field, string message)
    {
        var ns = await NewNamespaceAsync("svcname");

        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(Service(name), ns), field, message);
    }

    [Test]
    public async Task Service_ports_must_be_named_when_several_unique_in_range_and_of_a_known_protocol()
    {
        var ns = await NewNamespaceAsync("ports");

        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(Service("unnamed", new V1ServicePort { Port = 80 }, new V1ServicePort { Name = "b", Port = 81 }), ns),
            "spec.ports[0].name", "Required value");
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(Service("twice", new V1ServicePort { Name = "a", Port = 80 }, new V1ServicePort { Name = "b", Port = 80 }), ns),
            "spec.ports[1]", "Duplicate value");
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(Service("zero", new V1ServicePort { Name = "a", Port = 0 }), ns),
            "spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive");
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(Service("icmp", new V1ServicePort { Name = "a", Port = 80, Protocol = "ICMP" }), ns),
            "spec.ports[0].protocol", "Unsupported value: \"ICMP\"");
        (await Client.CoreV1.ListNamespacedServiceAsync(ns)).Items.Should().BeEmpty("nothing refused was stored, and no cluster IP or node port is held by it");
    }

    [Test]
    public async Task A_Service_status_must_carry_valid_addresses_ip_modes_and_conditions()
    {
        var ns = await NewNamespaceAsync("status");
        var service = await Client.CoreV1.CreateNamespacedServiceAsync(Service("web"), ns);
        var now = DateTime.UtcNow;

        Task Write(V1ServiceStatus status)
        {
            service.Status = status;
            return Client.CoreV1.ReplaceNamespacedServiceStatusAsync(service, "web", ns);
        }

        await ShouldBeInvalidAsync(() => Write(new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "not-an-ip" }] } }),
            "status.loadBalancer.ingress[0].ip", "Invalid value: \"not-an-ip\": must be a valid IP address");
        await ShouldBeInvalidAsync(() => Write(new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Hostname = "lb.example", IpMode = "VIP" }] } }),
            "status.loadBalancer.ingress[0].ipMode", "Forbidden: may not be specified when `ip` is not set");
        await ShouldBeInvalidAsync(() => Write(new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "192.0.2.1", IpMode = "proxy" }] } }),
            "status.loadBalancer.ingress[0].ipMode", "Unsupported value: \"proxy\"");
        await ShouldBeInvalidAsync(() => Write(new V1ServiceStatus { Conditions = [new V1Condition { Type = "Ready", Status = "Maybe", Reason = "Fine", LastTransitionTime = now }] }),
            "status.conditions[0].status", "Unsupported value: \"Maybe\"");
        await ShouldBeInvalidAsync(() => Write(new V1ServiceStatus { Conditions = [new V1Condition { Type = "Ready", Status = "True", Reason = "all fine", LastTransitionTime = now }] }),
            "status.conditions[0].reason", "Invalid value: \"all fine\": a condition reason must start with alphabetic character");
        await ShouldBeInvalidAsync(() => Write(new V1ServiceStatus { Conditions = [new V1Condition { Type = "Ready", Status = "True", Reason = "Fine" }] }),
            "status.conditions[0].lastTransitionTime", "Required value");

        service.Status = new V1ServiceStatus
        {
            LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "192.0.2.1", IpMode = "VIP" }] },
            Conditions = [new V1Condition { Type = "ipvsoperator.io/Announced", Status = "True", Reason = "Announced", LastTransitionTime = now, Message = "ok" }],
        };
        (await Client.CoreV1.ReplaceNamespacedServiceStatusAsync(service, "web", ns)).Status.LoadBalancer.Ingress.Should().ContainSingle("a valid status is stored");
    }

    [Test]
    public async Task A_Service_cluster_IP_and_load_balancer_class_may_not_change_once_set()
    {
        var ns = await NewNamespaceAsync("immutable");
        var created = Service("web");
        created.Spec.LoadBalancerClass = "ipvsoperator.io/lb";
        var service = await Client.CoreV1.CreateNamespacedServiceAsync(created, ns);
        var clusterIp = service.Spec.ClusterIP;

        service.Spec.ClusterIP = "10.96.250.250";
        service.Spec.ClusterIPs = ["10.96.250.250"];
        await ShouldBeInvalidAsync(() => Client.CoreV1.ReplaceNamespacedServiceAsync(service, "web", ns), "spec.clusterIPs[0]", "Invalid value: \"10.96.250.250\": may not change once set");

        service.Spec.ClusterIP = clusterIp;
        service.Spec.ClusterIPs = [clusterIp];
        service.Spec.LoadBalancerClass = "example.com/other";
        await ShouldBeInvalidAsync(() => Client.CoreV1.ReplaceNamespacedServiceAsync(service, "web", ns), "spec.loadBalancerClass", "Invalid value: \"example.com/other\": may not change once set");
    }

    [Test]
    public async Task Leases_EndpointSlices_Events_and_ConfigMaps_are_validated()
    {
        var ns = await NewNamespaceAsync("others");

        await ShouldBeInvalidAsync(() => Client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease { Metadata = new V1ObjectMeta { Name = "l" }, Spec = new V1LeaseSpec { LeaseDurationSeconds = -1 } }, ns),
            "spec.leaseDurationSeconds", "Invalid value: -1: must be greater than 0");
        await ShouldBeInvalidAsync(() => Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(new V1EndpointSlice { Metadata = new V1ObjectMeta { Name = "e" }, Endpoints = [new V1Endpoint { Addresses = ["10.0.0.1"] }] }, ns),
            "addressType", "Required value");
        await ShouldBeInvalidAsync(() => Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(new V1EndpointSlice { Metadata = new V1ObjectMeta { Name = "e" }, AddressType = "IPv4", Endpoints = [new V1Endpoint { Addresses = ["2001:db8::1"] }] }, ns),
            "endpoints[0].addresses[0]", "Invalid value: \"2001:db8::1\": must be a valid IPv4 address");
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "ev" },
            InvolvedObject = new V1ObjectReference { Kind = "Service", Name = "web", NamespaceProperty = "elsewhere" },
            Reason = "Test",
        }, ns), "involvedObject.namespace", "Invalid value: \"elsewhere\": does not match event.namespace");
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" }, Data = new Dictionary<string, string> { ["a b"] = "x" } }, ns),
            "data[a b]", "Invalid value: \"a b\": a valid config key");
    }

    [Test]
    public async Task A_UID_in_the_body_is_a_precondition_so_a_write_never_lands_on_an_object_made_again()
    {
        var ns = await NewNamespaceAsync("uid");
        var first = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, ns);
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("c", ns);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c" } }, ns);

        first.Metadata.ResourceVersion = null;
        first.Data = new Dictionary<string, string> { ["written"] = "to the old object" };
        var refused = (await ((Func<Task>)(() => Client.CoreV1.ReplaceNamespacedConfigMapAsync(first, "c", ns))).Should().ThrowAsync<HttpOperationException>()).Which;

        refused.Response.StatusCode.Should().Be(HttpStatusCode.Conflict);
        refused.Response.Content.Should().Contain("Precondition failed: UID in precondition");
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("c", ns)).Data.Should().BeNull("the new object is untouched");
    }

    [Test]
    public async Task A_create_carrying_a_resourceVersion_is_refused()
    {
        var ns = await NewNamespaceAsync("createrv");

        var refused = (await ((Func<Task>)(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "c", ResourceVersion = "5" } }, ns)))
            .Should().ThrowAsync<HttpOperationException>()).Which;

        refused.Response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        refused.Response.Content.Should().Contain("resourceVersion should not be set on objects to be created");
    }

    [Test]
    public async Task A_custom_resource_status_update_without_a_resourceVersion_is_refused()
    {
        await InstallCrdsAsync();
        var pools = new IpvsOperator.Runtime.Client.EntityClient<V1Alpha1IPPool>(Client);
        var pool = await pools.CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = $"st-{Guid.NewGuid():N}"[..12] }, Spec = new IPPoolSpec { Addresses = ["192.0.2.0/29"] } });
        var body = new JsonObject
        {
            ["apiVersion"] = "ipvsoperator.io/v1alpha1",
            ["kind"] = "IPPool",
            ["metadata"] = new JsonObject { ["name"] = pool.Metadata.Name },
            ["status"] = new JsonObject { ["allocated"] = 1 },
        };
        using var http = Server.CreateHttpClient();

        var response = await http.PutAsync($"/apis/ipvsoperator.io/v1alpha1/ippools/{pool.Metadata.Name}/status", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));

        ((int)response.StatusCode).Should().Be(422, await response.Content.ReadAsStringAsync());
        (await response.Content.ReadAsStringAsync()).Should().Contain("metadata.resourceVersion");
    }

    [Test]
    public async Task Server_side_dry_run_creates_changes_and_deletes_nothing()
    {
        var ns = await NewNamespaceAsync("dryrun");
        var file = kubectl.WriteFile("dry.yaml", $"""
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              namespace: {ns}
            data:
              mode: dry
            """);

        var created = await Kubectl("apply", "--dry-run=server", "-f", file);
        created.ExitCode.Should().Be(0, created.Error);
        created.Output.Should().Contain("(server dry run)");
        (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Should().BeEmpty("a dry-run create stores nothing");

        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "settings" }, Data = new Dictionary<string, string> { ["mode"] = "real" } }, ns);
        var changed = await Kubectl("apply", "--dry-run=server", "-f", file);
        changed.ExitCode.Should().Be(0, changed.Error);
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns)).Data["mode"].Should().Be("real", "a dry-run update changes nothing");
        var diff = await Kubectl("diff", "-f", file);
        diff.Output.Should().Contain("-  mode: real").And.Contain("+  mode: dry", "kubectl diff shows the change the server would make");
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns)).Data["mode"].Should().Be("real", "kubectl diff changes nothing");

        var deleted = await Kubectl("delete", "--dry-run=server", "-n", ns, "configmap", "settings");
        deleted.ExitCode.Should().Be(0, deleted.Error);
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns)).Should().NotBeNull("a dry-run delete deletes nothing");
    }

    [Test]
    public async Task A_dry_run_create_of_a_name_that_is_taken_is_refused_as_the_real_create_would_be()
    {
        var ns = await NewNamespaceAsync("drytaken");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "settings" } }, ns);

        var dry = await Kubectl("create", "configmap", "settings", "-n", ns, "--dry-run=server");

        dry.ExitCode.Should().NotBe(0);
        dry.Error.Should().Contain("configmaps \"settings\" already exists");
    }

    [Test]
    public async Task A_dry_run_Service_create_holds_no_node_port()
    {
        var ns = await NewNamespaceAsync("dryport");
        var service = Service("web", new V1ServicePort { Name = "http", Port = 80, NodePort = 30777 });

        var dry = await Client.CoreV1.CreateNamespacedServiceAsync(service, ns, dryRun: "All");
        var real = await Client.CoreV1.CreateNamespacedServiceAsync(service, ns);

        dry.Spec.Ports[0].NodePort.Should().Be(30777);
        real.Spec.Ports[0].NodePort.Should().Be(30777, "the dry run did not keep the node port it asked for");
    }

    [Test]
    public async Task A_garbled_continue_token_is_a_400_and_one_from_before_compaction_a_410()
    {
        var ns = await NewNamespaceAsync("pages");
        for (var i = 0; i < 3; i++)
        {
            await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"c{i}" } }, ns);
        }
        var first = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 1);
        first.Metadata.ContinueProperty.Should().NotBeNullOrEmpty();

        var garbled = (await ((Func<Task>)(() => Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 1, continueParameter: "bm90IGEgdG9rZW4="))).Should().ThrowAsync<HttpOperationException>()).Which;
        garbled.Response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        garbled.Response.Content.Should().Contain("continue key is not valid");

        (await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 1, continueParameter: first.Metadata.ContinueProperty)).Items.Should().ContainSingle("a fresh token works");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "later" } }, ns);
        Server.Api.Storage.Compact();

        var expired = (await ((Func<Task>)(() => Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 1, continueParameter: first.Metadata.ContinueProperty))).Should().ThrowAsync<HttpOperationException>()).Which;
        expired.Response.StatusCode.Should().Be(HttpStatusCode.Gone);
        expired.Response.Content.Should().Contain("continue parameter is too old");
    }

    [Test]
    public async Task Marking_an_object_for_deletion_bumps_its_generation()
    {
        await InstallCrdsAsync();
        var pools = new IpvsOperator.Runtime.Client.EntityClient<V1Alpha1IPPool>(Client);
        var name = $"gen-{Guid.NewGuid():N}"[..12];
        var pool = await pools.CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = name, Finalizers = ["example.com/hold"] }, Spec = new IPPoolSpec { Addresses = ["192.0.2.8/29"] } });

        await pools.DeleteAsync(null, name);
        var marked = await pools.GetAsync(null, name);

        marked!.Metadata.DeletionTimestamp.Should().NotBeNull();
        marked.Metadata.Generation.Should().Be(pool.Metadata.Generation + 1);
        marked.Metadata.Finalizers = [];
        await pools.ReplaceAsync(marked);
    }

    [Test]
    public async Task Kubectl_describe_shows_a_Services_Events_and_get_prints_pending_and_node_ports_as_upstream()
    {
        var ns = await NewNamespaceAsync("describe");
        var service = await Client.CoreV1.CreateNamespacedServiceAsync(Service("web"), ns);
        await Client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "web.1" },
            InvolvedObject = new V1ObjectReference { Kind = "Service", Name = "web", NamespaceProperty = ns, Uid = service.Metadata.Uid, ApiVersion = "v1" },
            Reason = "AllocationFailed",
            Message = "no pool has a free address",
            Type = "Warning",
            LastTimestamp = DateTime.UtcNow,
            Source = new V1EventSource { Component = "ipvs-operator" },
        }, ns);

        var describe = await Kubectl("describe", "svc", "web", "-n", ns);
        var get = await Kubectl("get", "svc", "web", "-n", ns);
        var events = await Kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.kind=Service,reason=AllocationFailed");
        var unknown = await Kubectl("get", "events", "-n", ns, "--field-selector", "spec.nonsense=1");

        describe.ExitCode.Should().Be(0, describe.Error);
        describe.Output.Should().Contain("AllocationFailed").And.Contain("no pool has a free address", "describe finds the Events by involvedObject field selectors");
        get.Output.Should().MatchRegex(@"web\s+LoadBalancer\s+\S+\s+<pending>\s+80:3\d{4}/TCP", "a pending LoadBalancer and its node port, as kubectl prints them");
        events.Output.Should().Contain("AllocationFailed").And.MatchRegex(@"LAST SEEN", "the Events table has its LAST SEEN column");
        unknown.ExitCode.Should().NotBe(0);
        unknown.Error.Should().Contain("\"spec.nonsense\" is not a known field selector");
    }

    [Test]
    public async Task A_type_change_gives_or_takes_node_ports_and_the_traffic_policy_and_a_port_added_by_patch_gets_one()
    {
        var ns = await NewNamespaceAsync("types");
        var created = Service("web");
        created.Spec.Type = "ClusterIP";
        await Client.CoreV1.CreateNamespacedServiceAsync(created, ns);

        var nodePort = await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"type":"NodePort"}}""", V1Patch.PatchType.MergePatch), "web", ns);
        nodePort.Spec.Ports.Should().OnlyContain(p => p.NodePort >= 30000 && p.NodePort <= 32767, "ClusterIP to NodePort allocates node ports");
        nodePort.Spec.ExternalTrafficPolicy.Should().Be("Cluster");
        var held = nodePort.Spec.Ports[0].NodePort!.Value;

        var added = await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"ports":[{"name":"http","port":80},{"name":"https","port":443}]}}""", V1Patch.PatchType.StrategicMergePatch), "web", ns);
        added.Spec.Ports.Should().HaveCount(2).And.OnlyContain(p => p.NodePort >= 30000, "a port added by patch gets a node port");
        added.Spec.Ports.Single(p => p.Port == 80).NodePort.Should().Be(held, "the node port it had is kept");

        var back = await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"type":"ClusterIP"}}""", V1Patch.PatchType.MergePatch), "web", ns);
        back.Spec.Ports.Should().OnlyContain(p => p.NodePort == null, "NodePort to ClusterIP drops the node ports");
        back.Spec.ExternalTrafficPolicy.Should().BeNull();

        var reuse = Service("reuse", new V1ServicePort { Name = "http", Port = 80, NodePort = held });
        (await Client.CoreV1.CreateNamespacedServiceAsync(reuse, ns)).Spec.Ports[0].NodePort.Should().Be(held, "a dropped node port is free again");
    }

    [Test]
    public async Task A_requested_cluster_IP_is_honoured_and_a_taken_address_or_node_port_is_refused()
    {
        var ns = await NewNamespaceAsync("claims");
        var first = Service("first", new V1ServicePort { Name = "http", Port = 80, NodePort = 31555 });
        first.Spec.ClusterIP = "10.96.200.1";

        var created = await Client.CoreV1.CreateNamespacedServiceAsync(first, ns);
        created.Spec.ClusterIP.Should().Be("10.96.200.1");

        var sameIp = Service("second");
        sameIp.Spec.ClusterIP = "10.96.200.1";
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(sameIp, ns), "spec.clusterIPs[0]", "Invalid value: \"10.96.200.1\": provided IP is already allocated");
        var outside = Service("third");
        outside.Spec.ClusterIP = "192.0.2.1";
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(outside, ns), "spec.clusterIPs[0]", "Invalid value: \"192.0.2.1\": provided IP is not in the valid range");
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(Service("fourth", new V1ServicePort { Name = "http", Port = 80, NodePort = 31555 }), ns),
            "spec.ports[0].nodePort", "Invalid value: 31555: provided port is already allocated");
    }

    [Test]
    public async Task Services_ConfigMaps_Secrets_and_Leases_carry_no_generation_as_their_upstream_strategies_set_none()
    {
        var ns = await NewNamespaceAsync("nogen");
        var service = await Client.CoreV1.CreateNamespacedServiceAsync(Service("web"), ns);
        var patched = await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"sessionAffinity":"ClientIP"}}""", V1Patch.PatchType.MergePatch), "web", ns);
        var status = await Client.CoreV1.PatchNamespacedServiceStatusAsync(new V1Patch("""{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.7"}]}}}""", V1Patch.PatchType.MergePatch), "web", ns);
        var configMap = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "settings" }, Data = new Dictionary<string, string> { ["a"] = "1" } }, ns);
        var secret = await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "token" }, StringData = new Dictionary<string, string> { ["a"] = "1" } }, ns);
        var lease = await Client.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease { Metadata = new V1ObjectMeta { Name = "leader" }, Spec = new V1LeaseSpec { HolderIdentity = "a" } }, ns);

        new[] { service.Metadata, patched.Metadata, status.Metadata, configMap.Metadata, secret.Metadata, lease.Metadata }
            .Should().OnlyContain(m => m.Generation == null, "kube-apiserver's strategies for these kinds never set metadata.generation");
    }

    [Test]
    public async Task An_EndpointSlice_generation_counts_changes_to_anything_but_its_metadata_and_to_its_labels()
    {
        var ns = await NewNamespaceAsync("slicegen");
        var slice = await Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = "web-1" },
            AddressType = "IPv4",
            Endpoints = [new V1Endpoint { Addresses = ["10.0.0.1"] }],
        }, ns);

        var annotated = await Client.DiscoveryV1.PatchNamespacedEndpointSliceAsync(new V1Patch("""{"metadata":{"annotations":{"a":"1"}}}""", V1Patch.PatchType.MergePatch), "web-1", ns);
        var relabelled = await Client.DiscoveryV1.PatchNamespacedEndpointSliceAsync(new V1Patch("""{"metadata":{"labels":{"b":"2"}}}""", V1Patch.PatchType.MergePatch), "web-1", ns);
        var moved = await Client.DiscoveryV1.PatchNamespacedEndpointSliceAsync(new V1Patch("""{"endpoints":[{"addresses":["10.0.0.2"]}]}""", V1Patch.PatchType.MergePatch), "web-1", ns);

        slice.Metadata.Generation.Should().Be(1);
        annotated.Metadata.Generation.Should().Be(1, "an annotation is metadata");
        relabelled.Metadata.Generation.Should().Be(2, "upstream counts label changes of an EndpointSlice");
        moved.Metadata.Generation.Should().Be(3);
    }

    [Test]
    public async Task Kubectls_typed_create_commands_send_protobuf_and_make_what_they_say()
    {
        var ns = $"pb-{Guid.NewGuid():N}"[..12];
        string[][] commands =
        [
            ["create", "namespace", ns],
            ["create", "configmap", "settings", "-n", ns, "--from-literal=mode=fast", "--from-literal=empty="],
            ["create", "secret", "generic", "password", "-n", ns, "--from-literal=value=s3cret"],
            ["create", "service", "loadbalancer", "web", "-n", ns, "--tcp=80:8080", "--tcp=443"],
            ["create", "service", "externalname", "docs", "-n", ns, "--external-name=docs.example.com"],
            ["create", "serviceaccount", "robot", "-n", ns],
            ["create", "role", "reader", "-n", ns, "--verb=get,list", "--resource=services"],
            ["create", "rolebinding", "robot-reads", "-n", ns, "--role=reader", $"--serviceaccount={ns}:robot"],
        ];
        foreach (var command in commands)
        {
            var result = await Kubectl(command);
            result.ExitCode.Should().Be(0, $"kubectl {string.Join(' ', command)}: {result.Error}");
        }

        (await Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns)).Data.Should().Equal(new Dictionary<string, string> { ["mode"] = "fast", ["empty"] = "" });
        System.Text.Encoding.UTF8.GetString((await Client.CoreV1.ReadNamespacedSecretAsync("password", ns)).Data["value"]).Should().Be("s3cret");
        var web = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);
        web.Spec.Type.Should().Be("LoadBalancer");
        web.Spec.Ports.Select(p => (p.Port, p.TargetPort.Value, p.Protocol)).Should().Equal((80, "8080", "TCP"), (443, "443", "TCP"));
        web.Spec.Selector.Should().Equal(new Dictionary<string, string> { ["app"] = "web" });
        var docs = await Client.CoreV1.ReadNamespacedServiceAsync("docs", ns);
        docs.Spec.ExternalName.Should().Be("docs.example.com");
        docs.Spec.ClusterIP.Should().BeNullOrEmpty("an ExternalName Service has no cluster IP");
        docs.Spec.IpFamilies.Should().BeNullOrEmpty("nor address families");
        var role = await Client.RbacAuthorizationV1.ReadNamespacedRoleAsync("reader", ns);
        role.Rules.Should().ContainSingle().Which.ApiGroups.Should().Equal([""], "the core group, an empty string, is kept");
        var binding = await Client.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync("robot-reads", ns);
        binding.RoleRef.Name.Should().Be("reader");
        binding.Subjects.Should().ContainSingle().Which.Name.Should().Be("robot");
    }

    [Test]
    public async Task A_protobuf_body_that_is_malformed_is_a_400_and_one_of_an_unknown_kind_a_415()
    {
        using var http = Server.CreateHttpClient();
        static ByteArrayContent Protobuf(byte[] bytes)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.kubernetes.protobuf");
            return content;
        }
        // "k8s\0", then a length that runs past the end.
        var malformed = await http.PostAsync("/api/v1/namespaces", Protobuf([.. "k8s\0"u8, 0x0a, 0x7f, 0x0a]));
        // TypeMeta {apiVersion: v1, kind: Pod}.
        var pod = await http.PostAsync("/api/v1/namespaces/default/pods", Protobuf([.. "k8s\0"u8, 0x0a, 0x09, 0x0a, 0x02, .. "v1"u8, 0x12, 0x03, .. "Pod"u8]));

        malformed.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await malformed.Content.ReadAsStringAsync()).Should().Contain("the protobuf body is malformed");
        pod.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        (await pod.Content.ReadAsStringAsync()).Should().Contain("not of Pod").And.Contain("send it as JSON");
    }

    [Test]
    public async Task Client_side_apply_orders_list_items_as_the_manifest_does_and_no_patch_directive_is_stored()
    {
        var ns = await NewNamespaceAsync("order");
        string Manifest(params int[] ports) => $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: web
              namespace: {ns}
            spec:
              type: LoadBalancer
              ports:
            {string.Join('\n', ports.Select(p => $"  - name: p{p}\n    port: {p}"))}
            """;
        (await kubectl.RunWithInputAsync(Manifest(80, 443), "apply", "-f", "-")).ExitCode.Should().Be(0);

        // kubectl sends a strategic merge patch with $setElementOrder/ports.
        var reordered = await kubectl.RunWithInputAsync(Manifest(8080, 443, 80), "apply", "-f", "-");

        reordered.ExitCode.Should().Be(0, reordered.Error);
        var service = await Client.CoreV1.ReadNamespacedServiceAsync("web", ns);
        service.Spec.Ports.Select(p => p.Port).Should().Equal([8080, 443, 80], "the manifest's order");
        using var http = Server.CreateHttpClient();
        var raw = await http.GetStringAsync($"/api/v1/namespaces/{ns}/services/web");
        raw.Should().NotContain("$setElementOrder").And.NotContain("$patch");
    }

    [Test]
    public async Task Kubectl_auth_can_i_answers_from_RBAC_for_the_user_who_asks()
    {
        var ns = await NewNamespaceAsync("cani");
        await Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "service-reader" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["services"], Verbs = ["get", "list"] }],
        }, ns);
        await Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "alice-reads" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "service-reader" },
            Subjects = [new Rbacv1Subject { Kind = "User", Name = "alice", ApiGroup = "rbac.authorization.k8s.io" }],
        }, ns);
        using var alice = new KubectlSession(Server, Server.Authentication.AddUser("alice"));

        var mayGet = await alice.RunAsync("auth", "can-i", "get", "services", "-n", ns);
        var mayDelete = await alice.RunAsync("auth", "can-i", "delete", "services", "-n", ns);
        var elsewhere = await alice.RunAsync("auth", "can-i", "get", "services", "-n", "default");
        var admin = await Kubectl("auth", "can-i", "delete", "ippools.ipvsoperator.io");
        var list = await alice.RunAsync("auth", "can-i", "--list", "-n", ns);

        (mayGet.ExitCode, mayGet.Output.Trim()).Should().Be((0, "yes"), mayGet.Error);
        (mayDelete.ExitCode, mayDelete.Output.Trim()).Should().Be((1, "no"), mayDelete.Error);
        (elsewhere.ExitCode, elsewhere.Output.Trim()).Should().Be((1, "no"), "the Role binds in its own namespace only: " + elsewhere.Error);
        (admin.ExitCode, admin.Output.Trim()).Should().Be((0, "yes"), admin.Error);
        list.ExitCode.Should().Be(0, list.Error);
        list.Output.Should().MatchRegex(@"services\s+\[\]\s+\[\]\s+\[get list\]");
    }

    [Test]
    public async Task The_pages_of_a_list_are_one_snapshot_even_when_objects_change_between_them()
    {
        var ns = await NewNamespaceAsync("pages");
        for (var i = 0; i < 9; i++)
        {
            await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"cm-{i}" }, Data = new Dictionary<string, string> { ["v"] = "old" } }, ns);
        }

        var first = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 3);
        // Between the pages: one made, one deleted and one changed further on.
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "cm-5a" } }, ns);
        await Client.CoreV1.DeleteNamespacedConfigMapAsync("cm-6", ns);
        var changed = await Client.CoreV1.ReadNamespacedConfigMapAsync("cm-7", ns);
        changed.Data["v"] = "new";
        await Client.CoreV1.ReplaceNamespacedConfigMapAsync(changed, "cm-7", ns);
        var items = first.Items.ToList();
        var token = first.Metadata.ContinueProperty;
        while (!string.IsNullOrEmpty(token))
        {
            var page = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, limit: 3, continueParameter: token);
            page.Metadata.ResourceVersion.Should().Be(first.Metadata.ResourceVersion, "every page is read at the first page's version");
            items.AddRange(page.Items);
            token = page.Metadata.ContinueProperty;
        }

        items.Select(i => i.Metadata.Name).Should().Equal(Enumerable.Range(0, 9).Select(i => $"cm-{i}"), "the list as it was when it began");
        items.Single(i => i.Metadata.Name == "cm-7").Data["v"].Should().Be("old");
        (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Select(i => i.Metadata.Name).Should().Contain("cm-5a").And.NotContain("cm-6", "a new list sees the changes");
    }

    [Test]
    public async Task A_list_with_resourceVersionMatch_Exact_reads_the_state_at_that_version_and_misuse_is_refused()
    {
        var ns = await NewNamespaceAsync("exact");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "before" } }, ns);
        var then = (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Metadata.ResourceVersion;
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "after" } }, ns);
        using var http = Server.CreateHttpClient();

        var exact = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, resourceVersion: then, resourceVersionMatch: "Exact");
        var notOlder = await Client.CoreV1.ListNamespacedConfigMapAsync(ns, resourceVersion: then, resourceVersionMatch: "NotOlderThan");
        var withoutVersion = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?resourceVersionMatch=Exact");
        var unknown = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?resourceVersion={then}&resourceVersionMatch=Newest");

        exact.Items.Select(i => i.Metadata.Name).Should().Equal(["before"]);
        exact.Metadata.ResourceVersion.Should().Be(then);
        notOlder.Items.Select(i => i.Metadata.Name).Should().BeEquivalentTo(["before", "after"]);
        ((int)withoutVersion.StatusCode).Should().Be(422);
        (await withoutVersion.Content.ReadAsStringAsync()).Should().Contain("resourceVersionMatch is forbidden unless resourceVersion is provided");
        ((int)unknown.StatusCode).Should().Be(422);
        JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!["message"]!.GetValue<string>().Should().Contain("Unsupported value: \"Newest\"");
    }

    [Test]
    public async Task A_watch_with_sendInitialEvents_ends_the_current_objects_with_an_initial_events_end_bookmark()
    {
        var ns = await NewNamespaceAsync("initial");
        for (var i = 0; i < 3; i++)
        {
            await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"cm-{i}" } }, ns);
        }
        using var http = Server.CreateHttpClient();

        var refused = await http.GetAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true");
        using var stream = await http.GetStreamAsync($"/api/v1/namespaces/{ns}/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true");
        using var reader = new StreamReader(stream);
        var events = new List<JsonNode>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (events.LastOrDefault()?["type"]?.GetValue<string>() != "BOOKMARK")
        {
            events.Add(JsonNode.Parse((await reader.ReadLineAsync(deadline.Token))!)!);
        }

        ((int)refused.StatusCode).Should().Be(422);
        (await refused.Content.ReadAsStringAsync()).Should().Contain("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
        events.Take(3).Select(e => (e["type"]!.GetValue<string>(), e["object"]!["metadata"]!["name"]!.GetValue<string>()))
            .Should().Equal(("ADDED", "cm-0"), ("ADDED", "cm-1"), ("ADDED", "cm-2"));
        events[3]["object"]!["metadata"]!["annotations"]!["k8s.io/initial-events-end"]!.GetValue<string>().Should().Be("true");
    }

    private static V1OwnerReference OwnedBy(V1ConfigMap owner, bool block = false) =>
        new() { ApiVersion = "v1", Kind = "ConfigMap", Name = owner.Metadata.Name, Uid = owner.Metadata.Uid, BlockOwnerDeletion = block };

    [Test]
    public async Task An_owner_reference_must_name_its_owner_fully_and_only_one_may_be_the_controller()
    {
        var ns = await NewNamespaceAsync("owners");
        var owner = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "owner" } }, ns);
        var nameless = OwnedBy(owner);
        nameless.Name = null;
        var twice = new[] { OwnedBy(owner), OwnedBy(owner) };
        twice[0].Controller = true;
        twice[1].Controller = true;

        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "a", OwnerReferences = [nameless] } }, ns),
            "metadata.ownerReferences[0].name", "Invalid value: \"\": name must not be empty");
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "b", OwnerReferences = twice } }, ns),
            "metadata.ownerReferences", "Invalid value: Only one reference can have Controller set to true");
    }

    [Test]
    public async Task A_dependent_whose_owner_does_not_exist_is_collected()
    {
        var ns = await NewNamespaceAsync("dangling");
        var ghost = new V1OwnerReference { ApiVersion = "v1", Kind = "ConfigMap", Name = "never-made", Uid = Guid.NewGuid().ToString() };
        var owner = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "owner" } }, ns);

        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "orphan", OwnerReferences = [ghost] } }, ns);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "kept", OwnerReferences = [ghost, OwnedBy(owner)] } }, ns);

        await Eventually.TrueAsync(async () => !(await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Any(c => c.Metadata.Name == "orphan"),
            "the dependent of an owner that does not exist is deleted");
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("kept", ns)).Should().NotBeNull("one of its owners exists");
    }

    [Test]
    public async Task Foreground_deletion_keeps_the_owner_until_its_blocking_dependents_are_gone()
    {
        var ns = await NewNamespaceAsync("foreground");
        var owner = await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "owner" } }, ns);
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "held", OwnerReferences = [OwnedBy(owner, block: true)], Finalizers = ["example.com/hold"] },
        }, ns);

        var deleting = await Kubectl("delete", "configmap", "owner", "-n", ns, "--cascade=foreground", "--wait=false");

        deleting.ExitCode.Should().Be(0, deleting.Error);
        var marked = await Client.CoreV1.ReadNamespacedConfigMapAsync("owner", ns);
        marked.Metadata.DeletionTimestamp.Should().NotBeNull();
        marked.Metadata.Finalizers.Should().Contain("foregroundDeletion", "the owner waits for its blocking dependent");
        (await Client.CoreV1.ReadNamespacedConfigMapAsync("held", ns)).Metadata.DeletionTimestamp.Should().NotBeNull("the dependent is being deleted");

        await Client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), "held", ns);

        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Count == 0, "the dependent went, then the owner");
    }

    [Test]
    public async Task Kubectl_explain_knows_the_built_in_types_and_strict_validation_refuses_their_unknown_fields()
    {
        var ns = await NewNamespaceAsync("strict");
        var typo = $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: typo
              namespace: {ns}
            spec:
              type: LoadBalancer
              ports:
              - port: 80
                tragetPort: 8080
            """;

        var explained = await Kubectl("explain", "svc.spec.ports");
        var created = await kubectl.RunWithInputAsync(typo, "create", "-f", "-");
        var applied = await kubectl.RunWithInputAsync(typo, "apply", "--server-side", "-f", "-");
        var lenient = await kubectl.RunWithInputAsync(typo, "create", "--validate=false", "-f", "-");
        using var http = Server.CreateHttpClient();
        var swagger = JsonNode.Parse(await http.GetStringAsync("/openapi/v2"))!;

        explained.ExitCode.Should().Be(0, explained.Error);
        explained.Output.Should().Contain("FIELD: ports <[]Object>").And.Contain("targetPort").And.Contain("nodePort\t<integer>");
        created.ExitCode.Should().NotBe(0);
        created.Error.Should().Contain("strict decoding error: unknown field \"spec.ports[0].tragetPort\"");
        applied.ExitCode.Should().NotBe(0);
        applied.Error.Should().Contain("unknown field \"spec.ports[0].tragetPort\"");
        lenient.ExitCode.Should().Be(0, "--validate=false asks the server to ignore unknown fields: " + lenient.Error);
        (await Client.CoreV1.ReadNamespacedServiceAsync("typo", ns)).Spec.Ports[0].TargetPort.Value.Should().Be("80", "the unknown field was dropped, the port defaulted");
        using (var raw = Server.CreateHttpClient())
        {
            (await raw.GetStringAsync($"/api/v1/namespaces/{ns}/services/typo")).Should().NotContain("tragetPort", "an unknown field is never stored");
        }
        swagger["swagger"]!.GetValue<string>().Should().Be("2.0");
        swagger["definitions"]!["io.k8s.api.core.v1.Service"]!["properties"]!["spec"]!["properties"]!["ports"]!["type"]!.GetValue<string>().Should().Be("array");
    }

    [Test]
    public async Task A_custom_resource_is_held_to_its_schemas_formats_and_unique_list_items()
    {
        await InstallCrdsAsync();
        using var http = Server.CreateHttpClient();
        var name = $"fmt-{Guid.NewGuid():N}"[..12];
        var pool = JsonNode.Parse("""
            {"apiVersion":"ipvsoperator.io/v1alpha1","kind":"IPPool","metadata":{"name":"NAME"},
             "spec":{"addresses":["192.0.2.0/29"],"serviceAllocation":{"namespaces":["a","b","a"]}}}
            """.Replace("NAME", name, StringComparison.Ordinal))!;
        async Task<JsonNode> RefusalAsync(HttpResponseMessage response)
        {
            ((int)response.StatusCode).Should().Be(422, await response.Content.ReadAsStringAsync());
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }

        var repeated = await RefusalAsync(await http.PostAsync("/apis/ipvsoperator.io/v1alpha1/ippools", new StringContent(pool.ToJsonString(), System.Text.Encoding.UTF8, "application/json")));
        pool["spec"]!["serviceAllocation"]!["namespaces"] = new JsonArray("a", "b");
        var created = await http.PostAsync("/apis/ipvsoperator.io/v1alpha1/ippools", new StringContent(pool.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        created.EnsureSuccessStatusCode();
        var stored = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        JsonObject Condition(string type, string time) => new()
        {
            ["type"] = type, ["status"] = "True", ["reason"] = "Valid", ["message"] = "m", ["lastTransitionTime"] = time,
        };
        stored["status"] = new JsonObject { ["conditions"] = new JsonArray(Condition("Ready", "yesterday")) };
        var badTime = await RefusalAsync(await http.PutAsync($"/apis/ipvsoperator.io/v1alpha1/ippools/{name}/status", new StringContent(stored.ToJsonString(), System.Text.Encoding.UTF8, "application/json")));
        stored["status"] = new JsonObject { ["conditions"] = new JsonArray(Condition("Ready", "2026-11-30T00:00:00Z"), Condition("Ready", "2026-11-30T00:00:01Z")) };
        var twice = await RefusalAsync(await http.PutAsync($"/apis/ipvsoperator.io/v1alpha1/ippools/{name}/status", new StringContent(stored.ToJsonString(), System.Text.Encoding.UTF8, "application/json")));

        repeated["details"]!["causes"]!.AsArray().Should().Contain(c => c!["field"]!.GetValue<string>() == "spec.serviceAllocation.namespaces[2]"
            && c["message"]!.GetValue<string>() == "Duplicate value: \"a\"");
        badTime["details"]!["causes"]!.AsArray().Should().Contain(c => c!["field"]!.GetValue<string>() == "status.conditions[0].lastTransitionTime");
        twice["details"]!["causes"]!.AsArray().Should().Contain(c => c!["field"]!.GetValue<string>() == "status.conditions[1]"
            && c["message"]!.GetValue<string>().StartsWith("Duplicate value", StringComparison.Ordinal));
    }

    [Test]
    public async Task A_built_in_object_whose_fields_have_the_wrong_JSON_type_cannot_be_decoded_and_is_a_400_naming_the_field()
    {
        var ns = await NewNamespaceAsync("types");
        var file = kubectl.WriteFile("selector.yaml", $"""
            apiVersion: v1
            kind: Service
            metadata:
              name: typed
              namespace: {ns}
            spec:
              selector:
                app: true
              ports:
                - port: 80
            """);
        using var http = Server.CreateHttpClient();
        async Task<(HttpStatusCode, string)> CreateAsync(string json)
        {
            using var response = await http.PostAsync($"/api/v1/namespaces/{ns}/services", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
            return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["message"]!.GetValue<string>());
        }

        var created = await Kubectl("create", "-f", file);
        var port = await CreateAsync("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"port"},"spec":{"ports":[{"port":"80"}]}}""");
        var label = await CreateAsync("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"label","labels":{"tier":3}},"spec":{"ports":[{"port":80}]}}""");
        var ports = await CreateAsync("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"ports"},"spec":{"ports":{"port":80}}}""");
        var fraction = await CreateAsync("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"fraction"},"spec":{"ports":[{"port":80.5}]}}""");

        created.ExitCode.Should().NotBe(0);
        created.Error.Should().Contain("Service in version \"v1\" cannot be handled as a Service: json: cannot unmarshal bool into Go struct field ServiceSpec.spec.selector of type string");
        port.Should().Be((HttpStatusCode.BadRequest, "Service in version \"v1\" cannot be handled as a Service: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"));
        label.Should().Be((HttpStatusCode.BadRequest, "Service in version \"v1\" cannot be handled as a Service: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"));
        ports.Should().Be((HttpStatusCode.BadRequest, "Service in version \"v1\" cannot be handled as a Service: json: cannot unmarshal object into Go struct field ServiceSpec.spec.ports of type []v1.ServicePort"));
        fraction.Should().Be((HttpStatusCode.BadRequest, "Service in version \"v1\" cannot be handled as a Service: json: cannot unmarshal number 80.5 into Go struct field ServicePort.spec.ports.port of type int32"));
        (await Client.CoreV1.ListNamespacedServiceAsync(ns)).Items.Should().BeEmpty();
    }

    [Test]
    public async Task A_wrongly_typed_field_in_a_patch_is_a_400_and_changes_nothing()
    {
        var ns = await NewNamespaceAsync("patchtypes");
        await Client.CoreV1.CreateNamespacedServiceAsync(Service("web"), ns);

        var refused = await ApiErrors.Of(() => Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"selector":{"app":true}}}""", V1Patch.PatchType.MergePatch), "web", ns));

        refused.Code.Should().Be(HttpStatusCode.BadRequest);
        refused.Message.Should().Contain("cannot unmarshal bool into Go struct field ServiceSpec.spec.selector of type string");
        (await Client.CoreV1.ReadNamespacedServiceAsync("web", ns)).Spec.Selector.Should().BeNull();
    }

    [Test]
    public async Task A_Service_changed_to_ExternalName_loses_its_cluster_IPs_and_gives_the_address_back()
    {
        var ns = await NewNamespaceAsync("extname");
        var created = Service("web");
        created.Spec.Type = "ClusterIP";
        created.Spec.ClusterIP = "10.96.201.1";
        await Client.CoreV1.CreateNamespacedServiceAsync(created, ns);
        var change = new V1Patch("""{"spec":{"type":"ExternalName","externalName":"db.example.com"}}""", V1Patch.PatchType.MergePatch);

        await Client.CoreV1.PatchNamespacedServiceAsync(change, "web", ns, dryRun: "All");
        var stillHeld = Service("other");
        stillHeld.Spec.ClusterIP = "10.96.201.1";
        await ShouldBeInvalidAsync(() => Client.CoreV1.CreateNamespacedServiceAsync(stillHeld, ns), "spec.clusterIPs[0]", "Invalid value: \"10.96.201.1\": provided IP is already allocated");
        var external = await Client.CoreV1.PatchNamespacedServiceAsync(change, "web", ns);

        external.Spec.Type.Should().Be("ExternalName");
        external.Spec.ClusterIP.Should().BeNull("kube-apiserver clears the cluster IP of a Service that becomes ExternalName");
        external.Spec.ClusterIPs.Should().BeNull();
        external.Spec.IpFamilies.Should().BeNull();
        external.Spec.IpFamilyPolicy.Should().BeNull();
        external.Spec.InternalTrafficPolicy.Should().BeNull();
        var reused = Service("reuse");
        reused.Spec.ClusterIP = "10.96.201.1";
        (await Client.CoreV1.CreateNamespacedServiceAsync(reused, ns)).Spec.ClusterIP.Should().Be("10.96.201.1", "the released address is free again");
        var back = await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"type":"ClusterIP","externalName":null}}""", V1Patch.PatchType.MergePatch), "web", ns);
        back.Spec.ClusterIP.Should().StartWith("10.", "a Service leaving ExternalName gets a cluster IP again");
        back.Spec.ClusterIPs.Should().Equal(back.Spec.ClusterIP);
    }

    [Test]
    public async Task The_default_kube_system_and_kube_public_namespaces_may_not_be_deleted()
    {
        var dryRuns = new List<ProcessResult>();
        foreach (var ns in new[] { "default", "kube-system", "kube-public" })
        {
            dryRuns.Add(await Kubectl("delete", "namespace", ns, "--dry-run=server"));
        }
        var deleted = await Kubectl("delete", "namespace", "kube-public");

        dryRuns.Should().OnlyContain(r => r.ExitCode != 0, "even a dry run is refused, by admission");
        dryRuns[1].Error.Should().Contain("Error from server (Forbidden): namespaces \"kube-system\" is forbidden: this namespace may not be deleted");
        deleted.ExitCode.Should().NotBe(0);
        deleted.Error.Should().Contain("namespaces \"kube-public\" is forbidden: this namespace may not be deleted");
        (await Client.CoreV1.ReadNamespaceAsync("kube-public")).Metadata.DeletionTimestamp.Should().BeNull();
    }

    [Test]
    public async Task A_server_side_apply_that_creates_answers_201_and_one_that_changes_200()
    {
        var ns = await NewNamespaceAsync("apply201");
        using var http = Server.CreateHttpClient();
        async Task<HttpStatusCode> ApplyAsync(string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/namespaces/{ns}/configmaps/settings?fieldManager=test")
            {
                Content = new StringContent("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"v":"VALUE"}}""".Replace("VALUE", value, StringComparison.Ordinal),
                    System.Text.Encoding.UTF8, "application/apply-patch+yaml"),
            };
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        var created = await ApplyAsync("1");
        var changed = await ApplyAsync("2");

        created.Should().Be(HttpStatusCode.Created);
        changed.Should().Be(HttpStatusCode.OK);
    }
}
