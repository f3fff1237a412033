using System.Net;
using System.Text;
using IpvsOperator.Entities;
using IpvsOperator.Runtime;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Support;
using IpvsOperator.Webhooks;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Webhooks;

/// <summary>The validators, called by LocalCluster's admission as a cluster calls them, with the generated manifests.</summary>
public class WebhookTests : ControllerFixture
{
    private const string OperatorNamespace = "ipvs-operator-system";
    private WebhookServer server = null!;
    private WebhookCertificates certificates = null!;

    [OneTimeSetUp]
    public async Task InstallWebhooksAsync()
    {
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = OperatorNamespace } });
        var configuration = KubernetesYaml.Deserialize<V1ValidatingWebhookConfiguration>(
            await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "config", "webhook", "manifests.yaml")));
        foreach (var webhook in configuration.Webhooks)
        {
            webhook.ClientConfig.Service.NamespaceProperty = OperatorNamespace; // what kustomize's namespace does
        }
        await Client.AdmissionregistrationV1.CreateValidatingWebhookConfigurationAsync(configuration);

        var options = new WebhookCertificateOptions { Namespace = OperatorNamespace };
        certificates = new WebhookCertificates(Client, options, NullLogger<WebhookCertificates>.Instance);
        var certificate = await certificates.EnsureAsync(CancellationToken.None);
        server = await WebhookServer.StartAsync(certificate,
            [new PoolValidator(Pools, Allocations, new EntityClient<V1Service>(Client), new EntityClient<V1Namespace>(Client)), new AllocationValidator(Pools),
             new BgpPeerValidator(new EntityClient<V1Alpha1BGPPeer>(Client), new EntityClient<V1Node>(Client)), new ServiceValidator(Pools, defaultClass: true)],
            IPAddress.Loopback, 0, NullLogger.Instance, CancellationToken.None);
        Server.Admission.MapService(OperatorNamespace, options.ServiceName, "127.0.0.1", server.Port);
    }

    [OneTimeTearDown]
    public async Task StopWebhooksAsync() => await server.DisposeAsync();

    private Task<ApiError> RefusedPoolAsync(string name, params string[] addresses) =>
        ApiErrors.Of(() => CreatePoolAsync(name, addresses));

    [Test]
    public async Task The_controller_keeps_its_own_certificate_and_caBundle()
    {
        var secret = await Client.CoreV1.ReadNamespacedSecretAsync("ipvs-operator-webhook-tls", OperatorNamespace);
        secret.Data.Keys.Should().BeEquivalentTo(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
        var configuration = await Client.AdmissionregistrationV1.ReadValidatingWebhookConfigurationAsync("ipvs-operator-validating-webhook");
        configuration.Webhooks.Should().OnlyContain(w => Encoding.UTF8.GetString(w.ClientConfig.CaBundle) == Encoding.UTF8.GetString(secret.Data["ca.crt"]));

        var again = await certificates.EnsureAsync(CancellationToken.None);
        again.Current.Thumbprint.Should().Be(System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(Encoding.UTF8.GetString(secret.Data["tls.crt"])).Thumbprint,
            "a valid certificate is reused, not rotated on every start");
    }

    [Test]
    public async Task Malformed_pools_are_refused_naming_the_value_and_what_is_valid()
    {
        var garbled = await RefusedPoolAsync("garbled", "192.0.2.0/24", "banana");
        garbled.Message.Should().Contain("admission webhook \"ippools.ipvsoperator.io\" denied the request").And.Contain("'banana' is not an IP address").And.Contain("a CIDR such as");

        (await RefusedPoolAsync("backwards", "192.0.2.20-192.0.2.10")).Message.Should().Contain("write it as 192.0.2.10-192.0.2.20");
        (await RefusedPoolAsync("mixed", "192.0.2.1-2001:db8::1")).Message.Should().Contain("mixes IPv4 and IPv6");
        (await RefusedPoolAsync("hostbits", "192.0.2.5/24")).Message.Should().Contain("did you mean 192.0.2.0/24?");
    }

    [Test]
    public async Task A_server_side_dry_run_apply_of_an_invalid_pool_is_refused_by_the_webhook_and_a_valid_one_is_not_stored()
    {
        using var kubectl = new KubectlSession(Server);
        var invalid = kubectl.WriteFile("invalid.yaml", """
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata:
              name: wh-dry-invalid
            spec:
              addresses: ["192.0.2.20-192.0.2.10"]
            """);
        var valid = kubectl.WriteFile("valid.yaml", """
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata:
              name: wh-dry-valid
            spec:
              addresses: ["198.18.40.0/29"]
            """);

        var refused = await kubectl.RunAsync("apply", "--dry-run=server", "-f", invalid);
        var accepted = await kubectl.RunAsync("apply", "--dry-run=server", "-f", valid);

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("admission webhook \"ippools.ipvsoperator.io\" denied the request").And.Contain("write it as 192.0.2.10-192.0.2.20");
        accepted.ExitCode.Should().Be(0, accepted.Error);
        accepted.Output.Should().Contain("(server dry run)");
        (await Pools.GetAsync(null, "wh-dry-valid")).Should().BeNull("a dry run stores nothing, and the webhook, called with dryRun true, wrote nothing either");
        (await Pools.GetAsync(null, "wh-dry-invalid")).Should().BeNull();
    }

    [Test]
    public async Task A_pool_overlapping_another_is_refused_naming_it()
    {
        await CreatePoolAsync("wh-first", "198.18.0.0/24");

        var overlap = await RefusedPoolAsync("wh-second", "198.18.0.128/25");

        overlap.Message.Should().Contain("198.18.0.128-198.18.0.255 of IPPool wh-second overlaps 198.18.0.0-198.18.0.255 of IPPool wh-first");
        var update = await ApiErrors.Of(() => Pools.PatchAsync(null, "wh-first", """{"spec":{"addresses":["198.18.0.0/24","198.18.0.0/25"]}}"""));
        update.Message.Should().Contain("overlap");
    }

    [Test]
    public async Task Shrinking_or_deleting_a_pool_under_a_Service_is_refused_naming_the_Service()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("wh-used", "198.18.1.0/30");
        StartController();
        await CreateServiceAsync(ns, "tenant", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "wh-used" });
        var address = await WaitForAddressAsync(ns, "tenant");

        var shrink = await ApiErrors.Of(() => Pools.PatchAsync(null, "wh-used", """{"spec":{"addresses":["198.18.1.2/31"]}}"""));
        shrink.Message.Should().Contain($"drops allocated address(es) {address} (Service {ns}/tenant)");
        await Pools.PatchAsync(null, "wh-used", """{"spec":{"addresses":["198.18.1.0/29"]}}""");

        var delete = await ApiErrors.Of(() => Client.CustomObjects.DeleteClusterCustomObjectAsync(WellKnown.Group, WellKnown.Version, "ippools", "wh-used"));
        delete.Message.Should().Contain($"IPPool wh-used still has 1 allocated address(es): {address} (Service {ns}/tenant)");

        await Client.CoreV1.DeleteNamespacedServiceAsync("tenant", ns);
        await Eventually.TrueAsync(async () => (await Allocations.ListAllAsync()).Items.All(a => a.Spec.Pool != "wh-used"), "the address is released");
        await Pools.DeleteAsync(null, "wh-used");
        await Eventually.TrueAsync(async () => await Pools.GetAsync(null, "wh-used") is null, "the unused pool can go");
    }

    [Test]
    public async Task A_pool_with_announcement_settings_that_do_not_parse_is_refused_naming_the_field_and_the_value()
    {
        async Task<string> RefusedAsync(string name, PoolAnnouncement announce) =>
            (await ApiErrors.Of(() => Pools.CreateAsync(new V1Alpha1IPPool
            {
                Metadata = new V1ObjectMeta { Name = name },
                Spec = new IPPoolSpec { Addresses = ["198.18.12.0/28"], Announce = announce },
            }))).Message;

        (await RefusedAsync("wh-mode", new PoolAnnouncement { Modes = ["layer2", "ospf"] }))
            .Should().Contain("spec.announce.modes: 'ospf' is not a way to announce; valid: layer2, bgp");
        (await RefusedAsync("wh-community", new PoolAnnouncement { Bgp = new PoolBgpAnnouncement { Communities = ["64500:100", "65536:1"], LargeCommunities = ["1:2"] } }))
            .Should().Contain("spec.announce.bgp.communities: '65536:1' is not a community: AA:NN (each 0 to 65535) or one of no-export")
            .And.Contain("spec.announce.bgp.largeCommunities: '1:2' is not a large community: A:B:C");
        (await RefusedAsync("wh-nobgp", new PoolAnnouncement { Modes = ["layer2"], Bgp = new PoolBgpAnnouncement { LocalPreference = 100 } }))
            .Should().Contain("spec.announce.bgp is set but spec.announce.modes [layer2] does not include bgp");
        (await RefusedAsync("wh-aggregate", new PoolAnnouncement { Bgp = new PoolBgpAnnouncement { AggregationLength = 1 } }))
            .Should().Contain("spec.announce.bgp.aggregationLength 1 is shorter than the pool's prefix 198.18.12.0/28: every node would announce 128.0.0.0/1, addresses outside the pool; valid: 28 to 32");

        await Pools.CreateAsync(new V1Alpha1IPPool
        {
            Metadata = new V1ObjectMeta { Name = "wh-announced" },
            Spec = new IPPoolSpec
            {
                Addresses = ["198.18.12.0/28"],
                Announce = new PoolAnnouncement { Modes = ["bgp"], Bgp = new PoolBgpAnnouncement { Communities = ["no-export", "64500:100"], LocalPreference = 200, AggregationLength = 28 } },
            },
        });
        (await Pools.GetAsync(null, "wh-announced"))!.Spec.Announce!.Bgp!.AggregationLength.Should().Be(28);
        await Pools.DeleteAsync(null, "wh-announced");
    }

    [Test]
    public async Task A_BGPPeer_that_FRR_could_not_hold_or_that_gives_a_node_two_ASNs_is_refused_naming_the_field_or_the_node()
    {
        var peers = new EntityClient<V1Alpha1BGPPeer>(Client);
        static V1Alpha1BGPPeer Peer(string name, string address, long localAsn = 64512, Action<BGPPeerSpec>? change = null)
        {
            var spec = new BGPPeerSpec { PeerAddress = address, PeerASN = 64500, LocalASN = localAsn };
            change?.Invoke(spec);
            return new V1Alpha1BGPPeer { Metadata = new V1ObjectMeta { Name = name }, Spec = spec };
        }
        async Task<string> RefusedAsync(V1Alpha1BGPPeer peer) => (await ApiErrors.Of(() => peers.CreateAsync(peer))).Message;

        (await RefusedAsync(Peer("wh-addr", "10.0.0.300"))).Should().Contain("denied the request").And.Contain("spec.peerAddress '10.0.0.300' is not an IPv4 or IPv6 address");
        (await RefusedAsync(Peer("wh-hold", "10.0.0.1", change: s => (s.HoldTime, s.KeepaliveTime) = ("9s", "5s"))))
            .Should().Contain("spec.keepaliveTime 5s is more than a third of spec.holdTime 9s").And.Contain("set keepaliveTime to at most 3s");
        (await RefusedAsync(Peer("wh-hold-default", "10.0.0.1", change: s => s.HoldTime = "60s")))
            .Should().Contain("spec.keepaliveTime 30s, the default when it is not set, is more than a third of spec.holdTime 60s", "a user who set only holdTime is told where 30s came from");
        (await RefusedAsync(Peer("wh-hold2", "10.0.0.1", change: s => s.HoldTime = "2s"))).Should().Contain("spec.holdTime 2s is neither 0s nor 3s to 65535s");
        (await RefusedAsync(Peer("wh-source", "10.0.0.1", change: s => s.SourceAddress = "fd00::1")))
            .Should().Contain("spec.sourceAddress fd00::1 is not of the family of spec.peerAddress 10.0.0.1");
        (await RefusedAsync(Peer("wh-secret", "10.0.0.1", change: s => s.PasswordSecret = new SecretKeyReference { Name = "Not_A_Name" })))
            .Should().Contain("spec.passwordSecret 'Not_A_Name'/'password' does not name a Secret");

        await Client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "wh-rack1-node", Labels = new Dictionary<string, string> { ["rack"] = "1" } } });
        await Client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "wh-rack2-node", Labels = new Dictionary<string, string> { ["rack"] = "2" } } });
        static V1LabelSelector Rack(string rack) => new() { MatchLabels = new Dictionary<string, string> { ["rack"] = rack } };
        await peers.CreateAsync(Peer("wh-tor1", "10.0.1.254", 64512, s => s.NodeSelector = Rack("1")));

        (await RefusedAsync(Peer("wh-tor1-other-asn", "10.0.1.253", 64513)))
            .Should().Contain("localASN 64513 differs from BGPPeer wh-tor1's 64512, and both select node wh-rack1-node; a node speaks BGP as one AS");
        (await RefusedAsync(Peer("wh-tor1-again", "10.0.1.254", 64512)))
            .Should().Contain("node wh-rack1-node already peers with 10.0.1.254 through BGPPeer wh-tor1");
        await peers.CreateAsync(Peer("wh-tor2", "10.0.2.254", 64513, s => s.NodeSelector = Rack("2")));
        (await peers.GetAsync(null, "wh-tor2"))!.Spec.HoldTime.Should().Be("90s", "the CRD fills in the defaults");
    }

    [Test]
    public async Task An_IPAllocation_must_be_named_after_its_address_and_lie_in_its_pool()
    {
        await CreatePoolAsync("wh-claims", "198.18.2.0/30");
        V1Alpha1IPAllocation Claim(string name, string address, string pool) => new()
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new IPAllocationSpec { Address = address, Pool = pool, ServiceRef = new ServiceReference { Namespace = "default", Name = "x", Uid = "u" } },
        };

        (await ApiErrors.Of(() => Allocations.CreateAsync(Claim("ipv4-198-18-2-1", "198.18.2.2", "wh-claims"))))
            .Message.Should().Contain("the claim of 198.18.2.2 must be named ipv4-198-18-2-2");
        (await ApiErrors.Of(() => Allocations.CreateAsync(Claim("ipv4-198-18-2-9", "198.18.2.9", "wh-claims"))))
            .Message.Should().Contain("198.18.2.9 does not lie in IPPool wh-claims");
        (await ApiErrors.Of(() => Allocations.CreateAsync(Claim("ipv4-198-18-2-1", "198.18.2.1", "nope"))))
            .Message.Should().Contain("spec.pool 'nope' names no IPPool");
    }

    [Test]
    public async Task Services_of_ours_with_bad_requests_are_refused_and_others_pass()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("wh-svc", "198.18.3.0/30");

        (await ApiErrors.Of(() => CreateServiceAsync(ns, "garbled", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "198.18.3.1,oops" })))
            .Message.Should().Contain("'oops' is not an IP address");
        (await ApiErrors.Of(() => CreateServiceAsync(ns, "outside", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "203.0.113.9" })))
            .Message.Should().Contain("requested address 203.0.113.9 lies in no IPPool");
        (await ApiErrors.Of(() => CreateServiceAsync(ns, "nopool", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "missing" })))
            .Message.Should().Contain("IPPool 'missing' does not exist");

        (await ApiErrors.Of(() => CreateServiceAsync(ns, "two", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "198.18.3.1,198.18.3.2" })))
            .Message.Should().Contain("'198.18.3.1,198.18.3.2' names more than one IPv4 address (198.18.3.1, 198.18.3.2)");
        await CreatePoolAsync("wh-svc-other", "198.18.4.0/30");
        (await ApiErrors.Of(() => CreateServiceAsync(ns, "elsewhere", new Dictionary<string, string>
            {
                [WellKnown.Annotations.AddressPool] = "wh-svc-other", [WellKnown.Annotations.LoadBalancerIPs] = "198.18.3.1",
            })))
            .Message.Should().Contain("requested address 198.18.3.1 does not lie in IPPool wh-svc-other").And.Contain("holds [198.18.4.0-198.18.4.3]");

        await CreateServiceAsync(ns, "fine", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "198.18.3.1" });
        await CreateServiceAsync(ns, "theirs", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "oops" }, loadBalancerClass: "example.com/other");
    }

    [Test]
    public async Task A_Service_with_a_bad_health_check_is_refused_naming_the_annotation_and_the_value()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("wh-svc-health", "198.18.9.0/30");

        var refused = await ApiErrors.Of(() => CreateServiceAsync(ns, "probed", new Dictionary<string, string>
        {
            ["ipvsoperator.io/address-pool"] = "wh-svc-health",
            ["ipvsoperator.io/health-check"] = "http",
            ["ipvsoperator.io/health-check-interval"] = "5",
        }));
        refused.Message.Should().Contain("admission webhook \"services.ipvsoperator.io\" denied the request")
            .And.Contain("annotation ipvsoperator.io/health-check-interval '5' has no unit; write 5s, 5ms or 5m");

        // Pinned to its own pool: the fixture's other tests reshape theirs.
        await CreateServiceAsync(ns, "probed", new Dictionary<string, string>
        {
            ["ipvsoperator.io/address-pool"] = "wh-svc-health",
            ["ipvsoperator.io/health-check"] = "http",
            ["ipvsoperator.io/health-check-interval"] = "5s",
        });
        var edit = await ApiErrors.Of(() => Client.CoreV1.PatchNamespacedServiceAsync(
            new V1Patch("""{"metadata":{"annotations":{"ipvsoperator.io/health-check":"ping"}}}""", V1Patch.PatchType.MergePatch), "probed", ns));
        edit.Message.Should().Contain("'ping' is not a health check; valid: tcp, http or https");
    }

    [Test]
    public async Task A_Service_with_an_unknown_scheduler_or_forward_method_is_refused_naming_the_value_and_the_valid_ones()
    {
        var ns = await NewNamespaceAsync();
        // Pinned to its own pool: the fixture's other tests reshape theirs.
        await CreatePoolAsync("wh-svc-ipvs", "198.18.10.0/30");
        Dictionary<string, string> Annotations(string key, string value) => new() { [WellKnown.Annotations.AddressPool] = "wh-svc-ipvs", [key] = value };

        var scheduler = await ApiErrors.Of(() => CreateServiceAsync(ns, "sched", Annotations(WellKnown.Annotations.Scheduler, "fastest")));
        var method = await ApiErrors.Of(() => CreateServiceAsync(ns, "method", Annotations(WellKnown.Annotations.ForwardMethod, "teleport")));

        scheduler.Message.Should().Contain("admission webhook \"services.ipvsoperator.io\" denied the request")
            .And.Contain("annotation ipvsoperator.io/scheduler: 'fastest' is not an IPVS scheduler; valid: dh, fo, lblc, lblcr, lc, mh, nq, ovf, rr, sed, sh, twos, wlc, wrr");
        method.Message.Should().Contain("annotation ipvsoperator.io/forward-method: 'teleport' is not a forward method; valid: masq, droute, tunnel");
        var accepted = Annotations(WellKnown.Annotations.Scheduler, "wlc");
        accepted[WellKnown.Annotations.ForwardMethod] = "droute";
        await CreateServiceAsync(ns, "sched", accepted);
        var edit = await ApiErrors.Of(() => Client.CoreV1.PatchNamespacedServiceAsync(
            new V1Patch("""{"metadata":{"annotations":{"ipvsoperator.io/scheduler":"nope"}}}""", V1Patch.PatchType.MergePatch), "sched", ns));
        edit.Message.Should().Contain("'nope' is not an IPVS scheduler");
    }

    [Test]
    public async Task Kubectl_apply_refuses_an_unknown_scheduler_and_warns_about_a_misspelt_annotation_key()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("wh-svc-kubectl", "198.18.11.0/30");
        using var kubectl = new KubectlSession(Server);
        string Manifest(string name, string annotation) => kubectl.WriteFile($"{name}.yaml", $$"""
            apiVersion: v1
            kind: Service
            metadata:
              name: {{name}}
              namespace: {{ns}}
              annotations:
                ipvsoperator.io/address-pool: wh-svc-kubectl
                {{annotation}}
            spec:
              type: LoadBalancer
              ports: [{port: 80}]
            """);

        var refused = await kubectl.RunAsync("apply", "-f", Manifest("nope", "ipvsoperator.io/scheduler: nope"));
        var warned = await kubectl.RunAsync("apply", "-f", Manifest("misspelt", "ipvsoperator.io/sheduler: rr"));

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("admission webhook \"services.ipvsoperator.io\" denied the request")
            .And.Contain("annotation ipvsoperator.io/scheduler: 'nope' is not an IPVS scheduler; valid: dh, fo,");
        warned.ExitCode.Should().Be(0, warned.Error);
        warned.Output.Should().Contain("service/misspelt created");
        warned.Error.Should().Contain("Warning: annotation ipvsoperator.io/sheduler is unknown to the operator and ignored; did you mean ipvsoperator.io/scheduler?");
        (await Services.GetAsync(ns, "nope")).Should().BeNull();
    }

    [Test]
    public async Task Only_LoadBalancer_Services_reach_the_Service_webhook()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("wh-svc-only", "198.18.7.0/30");
        double Answered() => RuntimeMetrics.AdmissionReviews.WithLabels("/validate-service", "allowed").Value
            + RuntimeMetrics.AdmissionReviews.WithLabels("/validate-service", "denied").Value;

        var before = Answered();
        await CreateServiceAsync(ns, "internal", type: "ClusterIP");
        Answered().Should().Be(before, "the generated matchCondition keeps a ClusterIP Service from the webhook");
        await CreateServiceAsync(ns, "public");
        Answered().Should().Be(before + 1, "a LoadBalancer Service is validated");
    }

    [Test]
    public async Task A_pool_edit_whose_selector_would_exclude_a_Service_holding_its_address_is_refused_naming_it()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("wh-scoped", "198.18.5.0/30");
        StartController();
        var service = LoadBalancer("labelled", 80);
        service.Metadata.Labels = new Dictionary<string, string> { ["tier"] = "web" };
        service.Metadata.Annotations = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "wh-scoped" };
        await Client.CoreV1.CreateNamespacedServiceAsync(service, ns);
        var address = await WaitForAddressAsync(ns, "labelled");

        var excluding = await ApiErrors.Of(() => Pools.PatchAsync(null, "wh-scoped", """{"spec":{"serviceAllocation":{"serviceSelector":{"matchLabels":{"tier":"db"}}}}}"""));

        excluding.Message.Should().Contain("spec.serviceAllocation would no longer serve Services that hold its addresses")
            .And.Contain($"{address} (Service {ns}/labelled: the Service's labels do not match serviceSelector 'tier=db')");
        // A selector that still serves it is fine, and so is one that excludes nobody holding an address.
        await Pools.PatchAsync(null, "wh-scoped", """{"spec":{"serviceAllocation":{"serviceSelector":{"matchLabels":{"tier":"web"}}}}}""");
        var elsewhere = "{\"spec\":{\"serviceAllocation\":{\"namespaces\":[\"not-" + ns + "\"]}}}";
        (await ApiErrors.Of(() => Pools.PatchAsync(null, "wh-scoped", elsewhere)))
            .Message.Should().Contain($"namespace {ns} is not one of [not-{ns}]");
    }

    [Test]
    public async Task A_review_sent_past_the_API_server_with_more_entries_than_the_CRD_allows_is_refused_before_its_entries_are_parsed()
    {
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        var entries = string.Join(",", Enumerable.Repeat("\"198.51.100.7\"", IPPoolSpec.MaxAddresses + 1));
        const string Head = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u1\",\"operation\":\"CREATE\",\"name\":\"flood\","
            + "\"object\":{\"apiVersion\":\"ipvsoperator.io/v1alpha1\",\"kind\":\"IPPool\",\"metadata\":{\"name\":\"flood\"},\"spec\":{\"addresses\":[";
        var review = Head + entries + "]}}}}";
        using var content = new StringContent(review, Encoding.UTF8, "application/json");

        var reply = await http.PostAsync(new Uri($"https://127.0.0.1:{server.Port}/validate-ippool"), content);

        var response = System.Text.Json.Nodes.JsonNode.Parse(await reply.Content.ReadAsStringAsync())!["response"]!;
        response["allowed"]!.GetValue<bool>().Should().BeFalse();
        response["status"]!["message"]!.GetValue<string>().Should().Be("IPPool flood: spec.addresses may hold at most 4096 entries of at most 100 characters; it holds 4097");
    }

    [Test]
    public async Task A_body_that_is_not_JSON_is_a_bad_request()
    {
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        using var content = new StringContent("{\"request\": [", Encoding.UTF8, "application/json");

        var reply = await http.PostAsync(new Uri($"https://127.0.0.1:{server.Port}/validate-service"), content);

        reply.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await reply.Content.ReadAsStringAsync()).Should().StartWith("not an AdmissionReview: ");
    }

    [Test]
    public async Task The_webhook_server_refuses_a_body_larger_than_an_AdmissionReview_can_be()
    {
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        using var huge = new ByteArrayContent(new byte[WebhookServer.MaxRequestBody + 1]);
        huge.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");

        // Expect: 100-continue, as kube-apiserver's client may send it: the server answers from the
        // headers, so the answer never races the upload of a body it will not read.
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"https://127.0.0.1:{server.Port}/validate-ippool")) { Content = huge };
        request.Headers.ExpectContinue = true;
        var refused = await http.SendAsync(request);

        refused.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }
}
