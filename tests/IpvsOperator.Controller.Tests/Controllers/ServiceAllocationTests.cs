using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Resilience;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Controllers;

public class ServiceAllocationTests : ControllerFixture
{
    [Test]
    public async Task A_LoadBalancer_Service_gets_an_address_a_claim_an_annotation_and_an_event()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("basic", "198.51.100.0/30");
        StartController();

        var created = await CreateServiceAsync(ns, "web");
        var address = await WaitForAddressAsync(ns, "web");

        address.Should().Be("198.51.100.0");
        var service = (await Services.GetAsync(ns, "web"))!;
        service.Status.LoadBalancer.Ingress.Single().IpMode.Should().Be("Proxy");
        service.Metadata.Annotations[WellKnown.Annotations.AllocatedFromPool].Should().Be("basic");
        service.Metadata.Finalizers.Should().Contain(WellKnown.Finalizers.ReleaseAddress);
        var claim = (await Allocations.GetAsync(null, "ipv4-198-51-100-0"))!;
        claim.Spec.ServiceRef.Uid.Should().Be(created.Metadata.Uid);
        claim.Spec.Pool.Should().Be("basic");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "web", WellKnown.Events.IPAllocated)).Count == 1, "an IPAllocated event");
        (await EventsAsync(ns, "web", WellKnown.Events.IPAllocated))[0].Message.Should().Contain("198.51.100.0 from IPPool basic");
    }

    [Test]
    public async Task Services_of_another_type_or_class_are_left_alone()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("ignored-pool", "198.51.100.8/30");
        StartController();
        await CreateServiceAsync(ns, "cluster-ip", type: "ClusterIP");
        await CreateServiceAsync(ns, "other-class", loadBalancerClass: "example.com/other");
        await CreateServiceAsync(ns, "ours", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "ignored-pool" }, loadBalancerClass: WellKnown.LoadBalancerClass);

        await WaitForAddressAsync(ns, "ours");

        foreach (var name in new[] { "cluster-ip", "other-class" })
        {
            var service = (await Services.GetAsync(ns, name))!;
            service.Metadata.Finalizers.Should().BeNullOrEmpty();
            service.Status?.LoadBalancer?.Ingress.Should().BeNullOrEmpty();
            (await ClaimsOfAsync(ns, name)).Should().BeEmpty();
        }
    }

    [Test]
    public async Task Without_default_class_a_Service_with_no_class_is_not_served()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("classless", "198.51.100.12/30");
        StartController(new ControllerSettings { DefaultClass = false });
        await CreateServiceAsync(ns, "no-class");
        await CreateServiceAsync(ns, "with-class", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "classless" }, loadBalancerClass: WellKnown.LoadBalancerClass);

        await WaitForAddressAsync(ns, "with-class");

        (await AddressOfAsync(ns, "no-class")).Should().BeNull();
    }

    [Test]
    public async Task Requested_addresses_and_pools_are_honoured_and_bad_requests_explained()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("req-a", "198.51.100.16/30");
        await CreatePoolAsync("req-b", "198.51.100.20/30");
        StartController();

        await CreateServiceAsync(ns, "by-annotation", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "198.51.100.18" });
        await CreateServiceAsync(ns, "by-pool", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "req-b" });
        var legacy = LoadBalancer("by-spec");
        legacy.Spec.LoadBalancerIP = "198.51.100.23";
        await Client.CoreV1.CreateNamespacedServiceAsync(legacy, ns);
        await CreateServiceAsync(ns, "outside", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "203.0.113.50" });
        await CreateServiceAsync(ns, "garbled", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "not-an-ip" });

        (await WaitForAddressAsync(ns, "by-annotation")).Should().Be("198.51.100.18");
        (await WaitForAddressAsync(ns, "by-pool")).Should().StartWith("198.51.100.2");
        (await WaitForAddressAsync(ns, "by-spec")).Should().Be("198.51.100.23");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "outside", WellKnown.Events.AllocationFailed)).Count > 0, "the outside request is refused");
        (await EventsAsync(ns, "outside", WellKnown.Events.AllocationFailed))[0].Message.Should().Contain("203.0.113.50 lies in no IPPool");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "garbled", WellKnown.Events.AllocationFailed)).Count > 0, "the garbled annotation is explained");
        (await EventsAsync(ns, "garbled", WellKnown.Events.AllocationFailed))[0].Message.Should().Contain("'not-an-ip' is not an IP address");
    }

    [Test]
    public async Task A_deleted_Service_releases_its_address_which_a_waiting_Service_then_gets()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("tiny", "198.51.100.40/32");
        StartController();
        var tiny = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "tiny" };
        await CreateServiceAsync(ns, "first", tiny);
        (await WaitForAddressAsync(ns, "first")).Should().Be("198.51.100.40");
        await CreateServiceAsync(ns, "second", tiny);
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "second", WellKnown.Events.AllocationFailed)).Count > 0, "the second Service is told why it waits");
        (await EventsAsync(ns, "second", WellKnown.Events.AllocationFailed))[0].Message.Should().Contain("tiny (1 of 1 in use)");
        await Eventually.TrueAsync(async () => (await Pools.GetAsync(null, "tiny"))!.Status?.Conditions?.Any(c => c.Type == "Exhausted" && c.Status == "True") == true,
            "the pool says it is exhausted");
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e => e.InvolvedObject.Name == "tiny" && e.Reason == WellKnown.Events.PoolExhausted),
            "a PoolExhausted event");

        await Client.CoreV1.DeleteNamespacedServiceAsync("first", ns);

        await Eventually.TrueAsync(async () => await Services.GetAsync(ns, "first") is null, "the Service goes once released");
        (await WaitForAddressAsync(ns, "second")).Should().Be("198.51.100.40");
        (await ClaimsOfAsync(ns, "first")).Should().BeEmpty();
        (await EventsAsync(ns, "first", WellKnown.Events.IPReleased)).Should().ContainSingle();
    }

    [Test]
    public async Task Changing_type_away_from_LoadBalancer_releases_and_cleans_up()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("retype", "198.51.100.44/30");
        StartController();
        await CreateServiceAsync(ns, "retyped", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "retype" });
        var address = await WaitForAddressAsync(ns, "retyped");

        await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"type":"ClusterIP"}}""", V1Patch.PatchType.MergePatch), "retyped", ns);

        await Eventually.TrueAsync(async () => (await ClaimsOfAsync(ns, "retyped")).Count == 0, "the claim is released");
        await Eventually.TrueAsync(async () => (await Services.GetAsync(ns, "retyped"))!.Metadata.Finalizers?.Contains(WellKnown.Finalizers.ReleaseAddress) != true, "the finalizer is removed");
        var service = (await Services.GetAsync(ns, "retyped"))!;
        service.Status?.LoadBalancer?.Ingress.Should().BeNullOrEmpty();
        service.Metadata.Annotations?.ContainsKey(WellKnown.Annotations.AllocatedFromPool).Should().NotBe(true);
        (await Allocations.GetAsync(null, NameOf(address))).Should().BeNull();
        var events = new List<string>();
        await Eventually.TrueAsync(async () => (events = [.. (await Client.CoreV1.ListNamespacedEventAsync(ns)).Items.Select(e => $"{e.Reason} {e.InvolvedObject.Name}: {e.Message}")])
                .Any(e => e.StartsWith($"{WellKnown.Events.IPReleased} retyped: Released {address}", StringComparison.Ordinal)),
            () => $"an Event says the address went back to the pool, as a deletion's does; the events: {string.Join("; ", events)}");
    }

    [Test]
    public async Task Changing_the_requested_address_moves_the_Service()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("move", "198.51.100.48/30");
        StartController();
        await CreateServiceAsync(ns, "mover", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = "198.51.100.49" });
        (await WaitForAddressAsync(ns, "mover")).Should().Be("198.51.100.49");

        await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch($"{{\"metadata\":{{\"annotations\":{{\"{WellKnown.Annotations.LoadBalancerIPs}\":\"198.51.100.50\"}}}}}}", V1Patch.PatchType.MergePatch), "mover", ns);

        await Eventually.TrueAsync(async () => await AddressOfAsync(ns, "mover") == "198.51.100.50", "the Service moved");
        await Eventually.TrueAsync(async () => await Allocations.GetAsync(null, "ipv4-198-51-100-49") is null, "the old claim is released");
    }

    [Test]
    public async Task A_claim_deleted_by_hand_is_made_again_with_the_same_address()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("reclaim", "198.51.100.56/30");
        StartController();
        await CreateServiceAsync(ns, "victim", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "reclaim" });
        var address = await WaitForAddressAsync(ns, "victim");

        await Allocations.DeleteAsync(null, NameOf(address));

        await Eventually.TrueAsync(async () => await Allocations.GetAsync(null, NameOf(address)) is not null, "the claim is back");
        (await AddressOfAsync(ns, "victim")).Should().Be(address);
    }

    [Test]
    public async Task A_claim_whose_Service_is_gone_is_released()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("orphans", "198.51.100.60/30");
        StartController();
        await Allocations.CreateAsync(new V1Alpha1IPAllocation
        {
            Metadata = new V1ObjectMeta { Name = "ipv4-198-51-100-61" },
            Spec = new IPAllocationSpec { Address = "198.51.100.61", Pool = "orphans", ServiceRef = new ServiceReference { Namespace = ns, Name = "never-was", Uid = "no-such-uid" } },
        });

        await Eventually.TrueAsync(async () => await Allocations.GetAsync(null, "ipv4-198-51-100-61") is null, "the orphaned claim is released");
    }

    [Test]
    public async Task A_Service_asking_for_a_shared_address_without_the_key_is_told_the_annotation_to_set()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("shared-remedy", "198.51.100.76/30");
        StartController();
        await CreateServiceAsync(ns, "http", new Dictionary<string, string> { [WellKnown.Annotations.AllowSharedIP] = "front", [WellKnown.Annotations.AddressPool] = "shared-remedy" });
        var address = await WaitForAddressAsync(ns, "http");

        await CreateServiceAsync(ns, "plain", new Dictionary<string, string> { [WellKnown.Annotations.LoadBalancerIPs] = address }, port: 443);

        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "plain", WellKnown.Events.AllocationFailed)).Count > 0, "the Service is told why it waits");
        (await EventsAsync(ns, "plain", WellKnown.Events.AllocationFailed))[0].Message.Should()
            .Be($"address {address} is shared by Service {ns}/http under key 'front'; set the annotation ipvsoperator.io/allow-shared-ip: front to share it");

        // Nothing left waiting for the tests after this one (the cluster and the pending gauge are shared).
        await Client.CoreV1.DeleteNamespacedServiceAsync("plain", ns);
        await Eventually.TrueAsync(async () => await Services.GetAsync(ns, "plain") is null, "the waiting Service goes");
    }

    [Test]
    public async Task Services_with_the_same_sharing_key_share_one_address_and_one_claim()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("shared", "198.51.100.64/30");
        StartController();
        var key = new Dictionary<string, string> { [WellKnown.Annotations.AllowSharedIP] = "front", [WellKnown.Annotations.AddressPool] = "shared" };
        await CreateServiceAsync(ns, "http", key, port: 80);
        var address = await WaitForAddressAsync(ns, "http");
        await CreateServiceAsync(ns, "https", key, port: 443);

        (await WaitForAddressAsync(ns, "https")).Should().Be(address);
        var claim = (await Allocations.GetAsync(null, NameOf(address)))!;
        claim.Spec.SharingKey.Should().Be("front");
        claim.Holders().Select(h => h.Name).Should().BeEquivalentTo(["http", "https"]);
        using var kubectl = new KubectlSession(Server);
        var table = await kubectl.RunAsync("get", "ipalloc", NameOf(address));
        table.ExitCode.Should().Be(0, table.Error);
        table.Output.Should().MatchRegex(@"SERVICE\s+SHARED WITH\s+AGE").And.MatchRegex($@"{ns}\s+http\s+https\s+", "kubectl shows every Service that shares the address");

        await Client.CoreV1.DeleteNamespacedServiceAsync("http", ns);
        await Eventually.TrueAsync(async () => await Services.GetAsync(ns, "http") is null, "the first sharer goes");
        var kept = (await Allocations.GetAsync(null, NameOf(address)))!;
        kept.Spec.ServiceRef.Name.Should().Be("https", "the claim passes to the remaining sharer");
    }

    [Test]
    public async Task Pool_status_counts_and_conditions_follow_allocations()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("counted", "198.51.100.128/28", "2001:db8:77::/64");
        StartController();
        await CreateServiceAsync(ns, "c1", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "counted" });
        await WaitForAddressAsync(ns, "c1");

        await Eventually.TrueAsync(async () => (await Pools.GetAsync(null, "counted"))!.Status?.IPv4?.Allocated == 1, "the pool counts the allocation");
        var pool = (await Pools.GetAsync(null, "counted"))!;
        pool.Status.IPv4!.Capacity.Should().Be("16");
        pool.Status.IPv4.Available.Should().Be("15");
        pool.Status.IPv6!.Capacity.Should().Be("18446744073709551616");
        pool.Status.ObservedGeneration.Should().Be(pool.Metadata.Generation);
        pool.Status.Conditions.Should().Contain(c => c.Type == "Ready" && c.Status == "True");
        pool.Status.Conditions.Should().Contain(c => c.Type == "InUse" && c.Status == "True" && c.Message.Contains($"{ns}/c1"));
        using var kubectl = new KubectlSession(Server);
        var table = await kubectl.RunAsync("get", "ippool", "counted");
        table.ExitCode.Should().Be(0, table.Error);
        table.Output.Should().MatchRegex(@"READY\s+EXHAUSTED\s+IPV4 AVAILABLE").And.MatchRegex(@"counted\s+.*\s+True\s+False\s+15\s", "kubectl shows the pool's conditions");
    }

    [Test]
    public async Task Kubectl_explain_describes_every_top_level_field_of_our_kinds()
    {
        using var kubectl = new KubectlSession(Server);
        foreach (var kind in new[] { "ippools", "ipallocations", "ipvsnodes", "bgppeers" })
        {
            var explained = await kubectl.RunAsync("explain", kind);
            explained.ExitCode.Should().Be(0, explained.Error);
            explained.Output.Should().NotContain("<no description>", $"kubectl explain {kind} describes apiVersion, kind, metadata, spec and status")
                .And.Contain("APIVersion defines the versioned schema").And.Contain("Standard object's metadata");
        }
    }

    [Test]
    public async Task A_pool_status_written_by_someone_else_is_put_back()
    {
        // The controller's own status write does not bring the pool back (BurstWriteTests); anyone else's does.
        await CreatePoolAsync("overwritten", "198.51.100.96/30");
        StartController();
        await Eventually.TrueAsync(async () => (await Pools.GetAsync(null, "overwritten"))!.Status?.IPv4?.Available == "4", "the pool has its status");

        await Pools.PatchAsync(null, "overwritten", """{"status":{"ipv4":{"allocated":3,"available":"1"}}}""", PatchKind.Merge, status: true);

        await Eventually.TrueAsync(async () => (await Pools.GetAsync(null, "overwritten"))!.Status?.IPv4 is { Allocated: 0, Available: "4" }, "the controller puts its counts back");
    }

    [Test]
    public async Task A_pool_with_allocations_is_kept_until_they_are_released()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("sticky", "198.51.100.72/30");
        StartController();
        await CreateServiceAsync(ns, "holder", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "sticky" });
        await WaitForAddressAsync(ns, "holder");
        await Eventually.TrueAsync(async () => (await Pools.GetAsync(null, "sticky"))!.Metadata.Finalizers?.Contains(WellKnown.Finalizers.PoolInUse) == true, "the pool finalizer is on");

        await Pools.DeleteAsync(null, "sticky");

        (await Pools.GetAsync(null, "sticky"))!.Metadata.DeletionTimestamp.Should().NotBeNull();
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items.Any(e => e.InvolvedObject.Name == "sticky" && e.Reason == "DeletionBlocked"),
            "the blocked deletion is explained");
        (await Pools.GetAsync(null, "sticky")).Should().NotBeNull("the pool stays while a Service holds its address");
        await Client.CoreV1.DeleteNamespacedServiceAsync("holder", ns);
        await Eventually.TrueAsync(async () => await Pools.GetAsync(null, "sticky") is null, "the pool goes once released");
    }

    [Test]
    public async Task A_Service_whose_labels_leave_its_pool_selector_loses_its_address_and_gets_one_back_when_they_match_again()
    {
        var ns = await NewNamespaceAsync();
        await Pools.CreateAsync(new V1Alpha1IPPool
        {
            Metadata = new V1ObjectMeta { Name = "selective" },
            Spec = new IPPoolSpec
            {
                Addresses = ["198.51.100.200/30"],
                ServiceAllocation = new ServiceAllocation { ServiceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["tier"] = "web" } } },
            },
        });
        StartController();
        var service = LoadBalancer("relabelled", 80);
        service.Metadata.Labels = new Dictionary<string, string> { ["tier"] = "web" };
        service.Metadata.Annotations = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "selective" };
        await Client.CoreV1.CreateNamespacedServiceAsync(service, ns);
        var address = await WaitForAddressAsync(ns, "relabelled");

        await Services.PatchAsync(ns, "relabelled", """{"metadata":{"labels":{"tier":"db"}}}""");

        string? shown = null;
        var claims = -1;
        await Eventually.TrueAsync(async () => (shown = await AddressOfAsync(ns, "relabelled")) is null && (claims = (await ClaimsOfAsync(ns, "relabelled")).Count) == 0,
            () => $"the address is released and withdrawn: no claim and no status that contradict the failure; the status shows {shown ?? "nothing"}, {claims} claim(s)");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "relabelled", WellKnown.Events.AllocationFailed))
            .Any(e => e.Message.Contains("the Service's labels do not match serviceSelector 'tier=web'", StringComparison.Ordinal)), "an Event says why it has no address");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "relabelled", WellKnown.Events.IPReleased))
            .Any(e => e.Message.StartsWith($"Released {address}: it no longer fits the Service", StringComparison.Ordinal)), "an Event says the address was released");

        await Services.PatchAsync(ns, "relabelled", """{"metadata":{"labels":{"tier":"web"}}}""");

        (await WaitForAddressAsync(ns, "relabelled")).Should().StartWith("198.51.100.20");
    }

    [Test]
    public async Task A_waiting_Service_is_counted_once_logged_once_and_retried_with_backoff_not_in_a_loop()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("one-address", "198.51.100.210/32");
        using var logs = new CollectingLoggerProvider();
        // A backoff that grows from 2 s: what "retried with backoff" means is then visible in seconds.
        StartController(loggers: logs.Factory, backoff: new Backoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60)));
        await CreateServiceAsync(ns, "first", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "one-address" });
        await WaitForAddressAsync(ns, "first");
        var failuresBefore = ControllerMetrics.AllocationFailures.WithLabels("PoolExhausted").Value;

        await CreateServiceAsync(ns, "second", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "one-address" });
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "second", WellKnown.Events.AllocationFailed)).Count == 1, "the Service waits, and says why");
        var started = DateTime.UtcNow;
        await Eventually.TrueAsync(() => DateTime.UtcNow - started > TimeSpan.FromSeconds(6), "six seconds pass");

        // Each try records the Event again (its count goes up): 2 s, then 4 s with ±50 % jitter allow at
        // most three tries in six seconds; the pool status writes that follow each try must not add more.
        var tries = (await EventsAsync(ns, "second", WellKnown.Events.AllocationFailed)).Single().Count;
        tries.Should().BeLessThanOrEqualTo(4, "a waiting Service is retried with backoff, not every time its pool's status is written");
        ControllerMetrics.AllocationFailures.WithLabels("PoolExhausted").Value.Should().Be(failuresBefore + 1, "one Service started waiting once, however often it was retried");
        ControllerMetrics.PendingServices.Value.Should().Be(1);
        logs.Entries.Where(e => e.Message.Contains($"{ns}/second", StringComparison.Ordinal) && e.Level >= LogLevel.Information).Should().ContainSingle(
            "the wait is logged once, without a stack, not on every try").Which.Exception.Should().BeNull();

        await Client.CoreV1.DeleteNamespacedServiceAsync("first", ns);

        await WaitForAddressAsync(ns, "second");
        await Eventually.TrueAsync(() => ControllerMetrics.PendingServices.Value == 0, "nothing waits once it has its address");
    }

    [Test]
    public async Task A_deleted_pool_leaves_no_metric_series_behind()
    {
        await CreatePoolAsync("short-lived", "198.51.100.220/30");
        StartController();
        bool Present() => ControllerMetrics.PoolAddresses.GetAllLabelValues().Any(labels => labels[0] == "short-lived");
        await Eventually.TrueAsync(Present, "the pool's figures are exported");

        await Pools.DeleteAsync(null, "short-lived");

        await Eventually.TrueAsync(() => !Present(), "the pool's figures go with it");
    }
}
