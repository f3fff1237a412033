using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Dataplane.Probing;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Dataplane.Probing;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// The node agent against LocalCluster and the controller, on the in-memory dataplane: what a
/// Service and its endpoints become in the kernel, and how the agent keeps it so.
/// </summary>
public class NodeAgentTests : ControllerFixture
{
    private readonly List<(Task Run, CancellationTokenSource Stop)> agents = [];

    [TearDown]
    public async Task StopAgentsAsync()
    {
        foreach (var (run, stop) in agents)
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
        }
        agents.Clear();
    }

    private static NodeDataplane InMemory() => NodeDataplaneFactory.InMemory();

    private NodeAgent StartAgent(NodeDataplane dataplane, NodeAgentOptions? options = null, IProber? prober = null)
    {
        var agent = new NodeAgent(ApiConnection.Of(Client), dataplane, options ?? new NodeAgentOptions { NodeName = "node-a" }, NullLoggerFactory.Instance, prober: prober);
        var stop = new CancellationTokenSource();
        agents.Add((Task.Run(() => agent.RunAsync(stop.Token)), stop));
        return agent;
    }

    private async Task<(string Ns, IPAddressValue Vip)> AddressedServiceAsync(string pool, string range, Dictionary<string, string>? annotations = null, string name = "web")
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync(pool, range);
        StartController();
        annotations ??= [];
        annotations[WellKnown.Annotations.AddressPool] = pool;
        await CreateServiceAsync(ns, name, annotations);
        return (ns, IPAddressValue.Parse(await WaitForAddressAsync(ns, name)));
    }

    private async Task<V1EndpointSlice> PublishEndpointsAsync(string ns, string service, params string[] addresses)
    {
        var slice = new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = $"{service}-abcde", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service } },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
            Endpoints = [.. addresses.Select(a => new V1Endpoint { Addresses = [a], NodeName = "node-b", Conditions = new V1EndpointConditions { Ready = true } })],
        };
        return await PublishSliceAsync(ns, slice);
    }

    private static string Table(IIpvs ipvs, VirtualServiceKey key) =>
        ipvs.ListServices().Any(s => s.Key == key) ? string.Join(" ", ipvs.ListDestinations(key).OrderBy(d => d.Address).ThenBy(d => d.Port).Select(d => $"{d.Address}:{d.Port}/{d.Weight}")) : "(none)";

    [Test]
    public async Task A_Service_with_endpoints_gets_its_VIP_bound_a_virtual_service_per_port_and_source_NAT()
    {
        var (ns, vip) = await AddressedServiceAsync("agent-basic", "198.51.100.64/30");
        await PublishEndpointsAsync(ns, "web", "10.244.1.2", "10.244.2.2");
        var dataplane = InMemory();

        var agent = StartAgent(dataplane);

        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1 10.244.2.2:8080/1", () => $"IPVS holds the endpoints; it has {Table(dataplane.Ipvs, http)}");
        // The source NAT is written after IPVS, in the same sync; ready once that sync is done.
        await Eventually.TrueAsync(() => agent.IsReady && ((InMemoryNetfilter)dataplane.Netfilter).Masqueraded.Contains(http), "the sync completes with the source NAT");
        dataplane.Links.ListLinks().Should().Contain(l => l.Name == "ipvs-lb0" && l.Up, "the bind interface is created when missing");
        dataplane.Links.ListAddresses("ipvs-lb0").Should().Contain(vip);
        dataplane.Ipvs.ListServices().Single(s => s.Key == http).Scheduler.Should().Be("rr");
    }

    [Test]
    public async Task An_endpoint_that_fails_its_health_check_gets_weight_0_and_back_and_when_all_fail_all_are_kept()
    {
        var (ns, vip) = await AddressedServiceAsync("agent-health", "198.51.100.116/30", new Dictionary<string, string>
        {
            [WellKnown.Annotations.HealthCheck] = "http",
            [WellKnown.Annotations.HealthCheckPath] = "/healthz",
            [WellKnown.Annotations.HealthCheckInterval] = "1s",
            [WellKnown.Annotations.HealthCheckTimeout] = "500ms",
            [WellKnown.Annotations.HealthCheckHealthyThreshold] = "1",
            [WellKnown.Annotations.HealthCheckUnhealthyThreshold] = "2",
        });
        await PublishEndpointsAsync(ns, "web", "10.244.1.2", "10.244.1.3", "10.244.1.4");
        var down = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        var prober = new ScriptedProber
        {
            Answer = t => down.ContainsKey(t.Address.ToString())
                ? new ProbeResult(ProbeFailure.Status, TimeSpan.FromMilliseconds(1), "HTTP 503, expected 200-399")
                : ProbeResult.Ok(TimeSpan.FromMilliseconds(1)),
        };
        var dataplane = InMemory();
        var agent = StartAgent(dataplane, prober: prober);
        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1 10.244.1.3:8080/1 10.244.1.4:8080/1", "all three serve");

        down["10.244.1.3"] = true;
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1 10.244.1.3:8080/0 10.244.1.4:8080/1",
            () => $"the failing endpoint stays, at weight 0 (its connections finish); IPVS has {Table(dataplane.Ipvs, http)}");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "web", "EndpointUnhealthy")).Any(e => e.Type == "Warning"
                && e.Message == "endpoint 10.244.1.3:8080 failed its http health check 2 times in a row (Status: HTTP 503, expected 200-399): it gets no new connections while another endpoint passes, until it passes 1 in a row"),
            "the Service is told which endpoint and why");
        await Eventually.TrueAsync(() => IpvsOperator.Node.NodeMetrics.ServiceEndpoints.WithLabels(ns, "web", "unhealthy").Value == 1 && IpvsOperator.Node.NodeMetrics.ServiceEndpoints.WithLabels(ns, "web", "healthy").Value == 2,
            "the metrics count the Service's endpoints by health");
        var objects = new IpvsOperator.Runtime.Client.EntityClient<V1Alpha1IPVSNode>(Client);
        IPVSNodeVip? listed = null;
        await Eventually.TrueAsync(async () => (listed = (await objects.GetAsync(null, "node-a"))?.Status?.Vips?.FirstOrDefault(v => v.Address == vip.ToString())) is { Services: [var web] }
                && web.Destinations!.Select(d => $"{d.Address}:{d.Port} weight {d.Weight} {d.Health} {d.ActiveConnections}/{d.InactiveConnections}").SequenceEqual(
                    ["10.244.1.2:8080 weight 1 passing 0/0", "10.244.1.3:8080 weight 0 failing 0/0", "10.244.1.4:8080 weight 1 passing 0/0"]),
            () => $"the IPVSNode lists each destination with its weight, health and connections (none pass through memory); it lists {KubernetesJson.Serialize(listed)}");
        listed!.Services![0].Should().BeEquivalentTo(new { Protocol = "TCP", Port = 80, Scheduler = "rr", DestinationCount = 3 });

        down.TryRemove("10.244.1.3", out _);
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1 10.244.1.3:8080/1 10.244.1.4:8080/1", "it serves again once it passes");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "web", "EndpointHealthy")).Count == 1, "and the Service is told");

        foreach (var address in new[] { "10.244.1.2", "10.244.1.3", "10.244.1.4" })
        {
            down[address] = true;
        }
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "web", "AllEndpointsUnhealthy")).Any(e =>
                e.Message == "every endpoint of port 80/TCP fails its health check (3); all are kept (fail open) until one passes"),
            "failing open is said");
        Table(dataplane.Ipvs, http).Should().Be("10.244.1.2:8080/1 10.244.1.3:8080/1 10.244.1.4:8080/1", "with every endpoint down, all are kept");
        prober.Calls.Keys.Select(k => k.ToString()).Should().BeEquivalentTo(["10.244.1.2:8080", "10.244.1.3:8080", "10.244.1.4:8080"], "one target per endpoint, probed on its own port");
        agent.FailedSyncsInARow.Should().Be(0);
    }

    [Test]
    public async Task An_endpoint_failing_its_health_check_stays_at_weight_0_past_the_drain_timeout_and_drains_only_once_it_leaves()
    {
        // Found in review of issue 36: the failing endpoint was drained like a terminating one, and
        // removed from IPVS once the drain timeout ran out, while it still failed and still was listed.
        var (ns, vip) = await AddressedServiceAsync("agent-health-held", "198.51.100.136/30", new Dictionary<string, string>
        {
            [WellKnown.Annotations.HealthCheck] = "http",
            [WellKnown.Annotations.HealthCheckInterval] = "1s",
            [WellKnown.Annotations.HealthCheckTimeout] = "500ms",
            [WellKnown.Annotations.HealthCheckHealthyThreshold] = "1",
            [WellKnown.Annotations.HealthCheckUnhealthyThreshold] = "1",
        });
        // Endpoints of their own: the agents of this fixture's later tests see this Service too.
        await PublishEndpointsAsync(ns, "web", "10.244.9.2", "10.244.9.3", "10.244.9.4");
        var prober = new ScriptedProber
        {
            Answer = t => t.Address.ToString() == "10.244.9.3"
                ? new ProbeResult(ProbeFailure.Status, TimeSpan.FromMilliseconds(1), "HTTP 503, expected 200-399")
                : ProbeResult.Ok(TimeSpan.FromMilliseconds(1)),
        };
        var dataplane = InMemory();
        StartAgent(dataplane, new NodeAgentOptions { NodeName = "node-a", DrainTimeout = TimeSpan.FromSeconds(1) }, prober);
        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.9.2:8080/1 10.244.9.3:8080/0 10.244.9.4:8080/1",
            () => $"the failing endpoint is held at weight 0; IPVS has {Table(dataplane.Ipvs, http)}");

        // 10.244.9.4 leaves the slice after 10.244.9.3 went to 0: once its drain has run out, any drain of 10.244.9.3 would have too.
        await PublishEndpointsAsync(ns, "web", "10.244.9.2", "10.244.9.3");
        await Eventually.TrueAsync(() => !Table(dataplane.Ipvs, http).Contains("10.244.9.4", StringComparison.Ordinal),
            () => $"the endpoint that left is drained, then removed; IPVS has {Table(dataplane.Ipvs, http)}");
        Table(dataplane.Ipvs, http).Should().Be("10.244.9.2:8080/1 10.244.9.3:8080/0",
            "an endpoint that fails its health check stays at weight 0 while it stays in its Service, past the drain timeout");
        var objects = new IpvsOperator.Runtime.Client.EntityClient<V1Alpha1IPVSNode>(Client);
        IPVSNodeVip? listed = null;
        await Eventually.TrueAsync(async () => (listed = (await objects.GetAsync(null, "node-a"))?.Status?.Vips?.FirstOrDefault(v => v.Address == vip.ToString())) is { Services: [var web] }
                && web.Destinations!.Select(d => $"{d.Address} weight {d.Weight} {d.Health} draining {d.Draining?.ToString() ?? "no"}").SequenceEqual(
                    ["10.244.9.2 weight 1 passing draining no", "10.244.9.3 weight 0 failing draining no"]),
            () => $"the IPVSNode lists the failing endpoint as failing, not draining; it lists {KubernetesJson.Serialize(listed)}");

        await PublishEndpointsAsync(ns, "web", "10.244.9.2");
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.9.2:8080/1",
            () => $"once it leaves its Service, the failing endpoint drains and goes; IPVS has {Table(dataplane.Ipvs, http)}");

        // Not left behind: the agents of this fixture's later tests would probe its endpoint too.
        await Client.CoreV1.DeleteNamespacedServiceAsync("web", ns);
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "(none)", "its virtual service goes with the Service");
    }

    [Test]
    public async Task The_agent_shows_what_its_node_serves_in_its_IPVSNode_which_goes_with_the_Node()
    {
        var node = await Client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "node-a" } });
        var (ns, vip) = await AddressedServiceAsync("agent-status", "198.51.100.96/30");
        await PublishEndpointsAsync(ns, "web", "10.244.1.2", "10.244.2.2");
        var objects = new IpvsOperator.Runtime.Client.EntityClient<V1Alpha1IPVSNode>(Client);

        var dataplane = InMemory();
        var agent = StartAgent(dataplane, new NodeAgentOptions { NodeName = "node-a", SyncPeriod = TimeSpan.FromMilliseconds(200) });

        // What the node's kernel holds (this fixture's earlier tests leave their Services behind).
        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1 10.244.2.2:8080/1", "IPVS serves the Service");
        V1Alpha1IPVSNode? shown = null;
        await Eventually.TrueAsync(async () => (shown = await objects.GetAsync(null, "node-a")) is { Status.Ready: true } node
                && node.Status.Vips!.Any(v => v.Address == vip.ToString() && v.Services is { Count: > 0 })
                && node.Status.VipsBound == dataplane.Links.ListAddresses("ipvs-lb0").Count
                && node.Status.VirtualServices == dataplane.Ipvs.ListServices().Count
                && node.Status.Destinations == dataplane.Ipvs.ListServices().Sum(s => dataplane.Ipvs.ListDestinations(s.Key).Count),
            () => $"the IPVSNode shows what the kernel serves; now {KubernetesJson.Serialize(shown?.Status)}");
        shown!.Status.LastSync!.Result.Should().Be("ok");
        shown.Status.LastSuccessfulSyncTime.Should().NotBeNull();
        shown.Spec.Announce.Should().Be("none");
        shown.Spec.BindInterface.Should().Be("ipvs-lb0");
        shown.Spec.Version.Should().NotBeNullOrEmpty();
        shown.Spec.Build.Should().Be(IPVSNodeSpec.JitBuild, "this test runs the agent on the JIT; the image's Native AOT build says NativeAOT (the kernel suite checks that)");
        shown.Metadata.OwnerReferences.Should().ContainSingle().Which.Uid.Should().Be(node.Metadata.Uid, "owned by its Node");

        // Periodic syncs every 200 ms change nothing it shows: no write for them. Counted from the
        // moment the server holds the last write the agent counted (a write lands before it is counted).
        await Eventually.TrueAsync(async () => (await objects.GetAsync(null, "node-a"))?.Metadata.ResourceVersion is { } version && version == agent.StatusWrittenVersion,
            () => $"the IPVSNode on the server is the agent's last counted write ({agent.StatusWrittenVersion})");
        // Something shown may still change now and then (an earlier test's Service ending its drain on
        // a loaded machine), and is written: what must hold is that two seconds of syncs that change
        // nothing (ten at 200 ms) write nothing, which a write per sync would never allow.
        var quietWindows = 0;
        await Eventually.TrueAsync(async () =>
        {
            quietWindows++;
            var writes = agent.StatusWrites;
            var attempted = agent.LastAttempt;
            var until = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2);
            await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > until, "two seconds of periodic syncs pass", TimeSpan.FromSeconds(5));
            return agent.StatusWrites == writes && agent.LastAttempt > attempted;
        }, () => $"two seconds of periodic syncs with no status write; tried {quietWindows} windows, the agent wrote {agent.StatusWrites} times", TimeSpan.FromSeconds(30));

        using var kubectl = new KubectlSession(Server);
        var table = await kubectl.RunAsync("get", "ipvsnodes");
        table.ExitCode.Should().Be(0, table.Error);
        table.Output.Should().MatchRegex(@"NAME\s+READY\s+VIPS\s+ANNOUNCED\s+SERVICES\s+LAST SYNC\s+SYNCED")
            .And.MatchRegex($@"node-a\s+true\s+{shown.Status.VipsBound}\s+0\s+{shown.Status.VirtualServices}\s+ok\s+");

        await Client.CoreV1.DeleteNodeAsync("node-a");
        await Eventually.TrueAsync(async () => await objects.GetAsync(null, "node-a") is null, "the IPVSNode goes with its Node");
    }

    [Test]
    public async Task A_fresh_start_programs_the_kernel_without_calling_it_drift()
    {
        var node = await Client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "node-fresh" } });
        var (ns, vip) = await AddressedServiceAsync("agent-fresh", "198.51.100.100/30");
        await PublishEndpointsAsync(ns, "web", "10.244.1.2");
        var objects = new IpvsOperator.Runtime.Client.EntityClient<V1Alpha1IPVSNode>(Client);

        // No periodic sync after the first: what the IPVSNode shows is what the first sync made.
        StartAgent(InMemory(), new NodeAgentOptions { NodeName = "node-fresh", SyncPeriod = TimeSpan.FromHours(1) });

        V1Alpha1IPVSNode? shown = null;
        await Eventually.TrueAsync(async () => (shown = await objects.GetAsync(null, "node-fresh")) is { Status.Ready: true } fresh
                && fresh.Status.Vips!.Any(v => v.Address == vip.ToString()),
            () => $"the IPVSNode shows the first sync; now {KubernetesJson.Serialize(shown?.Status)}");
        shown!.Status.LastSync!.KernelWrites.Should().BePositive("the first sync programmed an empty kernel");
        shown.Status.DriftRepaired.Should().Be(0, "programming the kernel at start is not drift: drift is what a periodic sync finds changed behind the agent's back");
        await Client.CoreV1.DeleteNodeAsync(node.Metadata.Name);
    }

    [Test]
    public async Task Scaling_endpoints_is_followed_and_a_removed_endpoint_drains_at_weight_0_first()
    {
        var (ns, vip) = await AddressedServiceAsync("agent-scale", "198.51.100.68/30");
        await PublishEndpointsAsync(ns, "web", "10.244.1.2");
        var dataplane = InMemory();
        StartAgent(dataplane, new NodeAgentOptions { NodeName = "node-a", DrainTimeout = TimeSpan.FromSeconds(1) });
        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1", "one endpoint");

        await PublishEndpointsAsync(ns, "web", "10.244.1.2", "10.244.2.2", "10.244.3.2");
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1 10.244.2.2:8080/1 10.244.3.2:8080/1", () => $"scaled up; IPVS has {Table(dataplane.Ipvs, http)}");

        await PublishEndpointsAsync(ns, "web", "10.244.3.2");
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/0 10.244.2.2:8080/0 10.244.3.2:8080/1", () => $"draining; IPVS has {Table(dataplane.Ipvs, http)}");
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.3.2:8080/1", () => $"drained and removed after 1 s; IPVS has {Table(dataplane.Ipvs, http)}");
    }

    [Test]
    public async Task Deleting_the_Service_removes_its_VIP_and_virtual_services_and_leaves_foreign_ones()
    {
        var (ns, vip) = await AddressedServiceAsync("agent-delete", "198.51.100.72/30");
        var dataplane = InMemory();
        var foreignVip = IPAddressValue.Parse("10.96.0.10");
        var foreign = new VirtualService(new VirtualServiceKey(foreignVip, IpvsProtocol.TCP, 443));
        dataplane.Links.EnsureDummyLink("ipvs-lb0");
        dataplane.Links.AddAddress("ipvs-lb0", foreignVip);
        dataplane.Ipvs.AddService(foreign);
        StartAgent(dataplane);
        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => dataplane.Ipvs.ListServices().Any(s => s.Key == http), "the virtual service is programmed");

        await Client.CoreV1.DeleteNamespacedServiceAsync("web", ns);

        await Eventually.TrueAsync(() => !dataplane.Ipvs.ListServices().Any(s => s.Key == http) && !dataplane.Links.ListAddresses("ipvs-lb0").Contains(vip),
            "the VIP and its virtual service are gone");
        dataplane.Ipvs.ListServices().Should().Contain(foreign);
        dataplane.Links.ListAddresses("ipvs-lb0").Should().Contain(foreignVip);
    }

    [Test]
    public async Task The_periodic_re_sync_repairs_drift_and_otherwise_writes_nothing()
    {
        var (ns, vip) = await AddressedServiceAsync("agent-drift", "198.51.100.76/30");
        await PublishEndpointsAsync(ns, "web", "10.244.1.2");
        var dataplane = InMemory();
        var agent = StartAgent(dataplane, new NodeAgentOptions { NodeName = "node-a", SyncPeriod = TimeSpan.FromMilliseconds(300) });
        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1", "programmed");
        var periodic = new List<SyncReport>();
        agent.Synced += report =>
        {
            lock (periodic)
            {
                periodic.Add(report);
            }
        };
        // A periodic re-sync may carry a change that arrived just before it (on a busy machine, other
        // tests' objects still settling); what must hold is that once nothing changes, re-syncs write
        // nothing: three in a row. An agent that rewrote anything on every re-sync never gets there.
        await Eventually.TrueAsync(() =>
        {
            lock (periodic)
            {
                return periodic.Where(r => r.Trigger == SyncTrigger.Periodic).TakeLast(3) is var last && last.Count() == 3 && last.All(r => r.Writes == 0 && r.Errors == 0);
            }
        }, () => $"three periodic re-syncs in a row write nothing; writes so far: {string.Join(", ", periodic.Where(r => r.Trigger == SyncTrigger.Periodic).Select(r => r.Writes))}");

        dataplane.Ipvs.DeleteService(http);
        dataplane.Links.RemoveAddress("ipvs-lb0", vip);

        await Eventually.TrueAsync(() => Table(dataplane.Ipvs, http) == "10.244.1.2:8080/1" && dataplane.Links.ListAddresses("ipvs-lb0").Contains(vip), "repaired by the re-sync");
    }

    [Test]
    public async Task A_Service_whose_health_check_interval_overflows_costs_only_itself_and_another_tenant_s_Service_is_programmed()
    {
        // What reaches the agent when the Service webhook is unavailable (it fails open): a value beyond any TimeSpan.
        var (hostileNs, hostileVip) = await AddressedServiceAsync("agent-overflow", "198.51.100.124/30", new()
        {
            [WellKnown.Annotations.HealthCheck] = "tcp",
            [WellKnown.Annotations.HealthCheckInterval] = "300000000h",
        }, name: "hostile");
        var dataplane = InMemory();
        var agent = StartAgent(dataplane, new NodeAgentOptions { NodeName = "node-a", SyncPeriod = TimeSpan.FromMilliseconds(200) });

        var tenant = await NewNamespaceAsync();
        await CreateServiceAsync(tenant, "shop", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "agent-overflow" });
        var tenantVip = IPAddressValue.Parse(await WaitForAddressAsync(tenant, "shop"));
        var shop = new VirtualServiceKey(tenantVip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => dataplane.Ipvs.ListServices().Any(s => s.Key == shop),
            () => $"another tenant's Service, created afterwards, is programmed; the agent's last sync: {agent.LastReport?.Failure?.Message ?? "ok"}");
        await Eventually.TrueAsync(async () => (await EventsAsync(hostileNs, "hostile", "InvalidHealthCheck")).Any(e => e.Type == "Warning"
                && e.Message.Contains("annotation ipvsoperator.io/health-check-interval: 300000000h is out of range; expected from 1s to 1m", StringComparison.Ordinal)),
            "the hostile Service is told which value is wrong and what would be valid");
        agent.IsReady.Should().BeTrue();
        agent.FailedSyncsInARow.Should().Be(0);
        dataplane.Ipvs.ListServices().Should().Contain(s => s.Key == new VirtualServiceKey(hostileVip, IpvsProtocol.TCP, 80), "the hostile Service is served, unchecked");
    }

    [Test]
    public async Task An_unknown_scheduler_gets_one_Warning_Event_and_round_robin()
    {
        var (ns, vip) = await AddressedServiceAsync("agent-sched", "198.51.100.80/30", new() { [WellKnown.Annotations.Scheduler] = "fastest" });
        var dataplane = InMemory();
        StartAgent(dataplane, new NodeAgentOptions { NodeName = "node-a", SyncPeriod = TimeSpan.FromMilliseconds(200) });
        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);

        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "web", "UnknownScheduler")).Count == 1, "a Warning Event");
        await Eventually.TrueAsync(() => dataplane.Ipvs.ListServices().Any(s => s.Key == http), "the virtual service is programmed");

        dataplane.Ipvs.ListServices().Single(s => s.Key == http).Scheduler.Should().Be("rr");
        var warning = (await EventsAsync(ns, "web", "UnknownScheduler")).Single();
        warning.Type.Should().Be("Warning");
        warning.Message.Should().Contain("'fastest'").And.Contain("wlc");
        warning.Count.Should().Be(1, "the warning is written when it first appears, not on every re-sync");
    }

    [Test]
    public async Task A_VIP_recorded_by_a_previous_run_whose_allocation_is_gone_is_removed_and_unrecorded_ones_stay()
    {
        var state = Path.Combine(Path.GetTempPath(), $"ipvsop-state-{Guid.NewGuid():N}");
        var dataplane = InMemory();
        dataplane.Links.EnsureDummyLink("ipvs-lb0");
        var leftover = IPAddressValue.Parse("198.51.100.90");
        var human = IPAddressValue.Parse("198.51.100.91");
        dataplane.Links.AddAddress("ipvs-lb0", leftover);
        dataplane.Links.AddAddress("ipvs-lb0", human);
        dataplane.Ipvs.AddService(new VirtualService(new VirtualServiceKey(leftover, IpvsProtocol.TCP, 80)));
        await File.WriteAllTextAsync(state, $"{leftover}\n");
        try
        {
            var agent = StartAgent(dataplane, new NodeAgentOptions { NodeName = "node-a", StateFile = state });

            await Eventually.TrueAsync(() => agent.IsReady && !dataplane.Links.ListAddresses("ipvs-lb0").Contains(leftover), "the leftover VIP is removed");
            dataplane.Ipvs.ListServices().Should().NotContain(s => s.Key.Address == leftover);
            dataplane.Links.ListAddresses("ipvs-lb0").Should().Contain(human, "an address the agent never bound is not its own");
            (await File.ReadAllTextAsync(state)).Should().NotContain(leftover.ToString());
        }
        finally
        {
            File.Delete(state);
        }
    }

    [Test]
    public async Task A_VIP_is_recorded_before_it_is_bound_so_that_a_crash_between_leaves_it_ours()
    {
        var state = Path.Combine(Path.GetTempPath(), $"ipvsop-state-{Guid.NewGuid():N}");
        var inner = InMemory();
        var links = new RecordCheckingLinks(inner.Links, state);
        var (_, vip) = await AddressedServiceAsync("record-first", "198.51.100.120/30");
        try
        {
            var agent = StartAgent(inner with { Links = links }, new NodeAgentOptions { NodeName = "node-a", StateFile = state });

            await Eventually.TrueAsync(() => links.Bound.ContainsKey(vip), $"{vip} is bound");
            links.Bound[vip].Should().BeTrue("the state file named it when it was bound");
        }
        finally
        {
            File.Delete(state);
        }
    }

    /// <summary>Addresses whose binding the state file already named at the moment of binding.</summary>
    private sealed class RecordCheckingLinks(IAddressManager inner, string stateFile) : IAddressManager
    {
        public System.Collections.Concurrent.ConcurrentDictionary<IPAddressValue, bool> Bound { get; } = new();

        public void AddAddress(string link, IPAddressValue address)
        {
            Bound[address] = File.Exists(stateFile) && File.ReadAllLines(stateFile).Contains(address.ToString());
            inner.AddAddress(link, address);
        }

        public IReadOnlyList<LinkInfo> ListLinks() => inner.ListLinks();
        public LinkInfo EnsureDummyLink(string name) => inner.EnsureDummyLink(name);
        public void SetLinkUp(string name) => inner.SetLinkUp(name);
        public IReadOnlyList<IPAddressValue> ListAddresses(string link) => inner.ListAddresses(link);
        public void RemoveAddress(string link, IPAddressValue address) => inner.RemoveAddress(link, address);
        public void RefreshAddress(string link, IPAddressValue address, TimeSpan lifetime) => inner.RefreshAddress(link, address, lifetime);
        public string? DefaultRouteLink(IPFamily family) => inner.DefaultRouteLink(family);
    }

    /// <summary>IPVS that refuses everything until told otherwise: a module missing, then loaded.</summary>
    internal sealed class UnavailableIpvs(IIpvs inner) : IIpvs
    {
        public bool Available { get; set; }

        private IIpvs Inner => Available ? inner : throw new NetlinkException(NetlinkException.ENOENT, "IPVS_CMD_GET_SERVICE", "is ip_vs loaded?");

        public IReadOnlyList<VirtualService> ListServices() => Inner.ListServices();
        public IReadOnlyList<string> Unrepresented => inner.Unrepresented;
        public void AddService(VirtualService service) => Inner.AddService(service);
        public void UpdateService(VirtualService service) => Inner.UpdateService(service);
        public void DeleteService(VirtualServiceKey key) => Inner.DeleteService(key);
        public IReadOnlyList<Destination> ListDestinations(VirtualServiceKey key) => Inner.ListDestinations(key);
        public void AddDestination(VirtualServiceKey key, Destination destination) => Inner.AddDestination(key, destination);
        public void UpdateDestination(VirtualServiceKey key, Destination destination) => Inner.UpdateDestination(key, destination);
        public void DeleteDestination(VirtualServiceKey key, IPAddressValue address, ushort port) => Inner.DeleteDestination(key, address, port);
        public ServiceStats GetStats(VirtualServiceKey key) => Inner.GetStats(key);

        public IReadOnlyList<DestinationConnections> ListConnections(VirtualServiceKey key) => Inner.ListConnections(key);
    }

    [Test]
    public async Task A_kernel_that_refuses_everything_is_retried_with_backoff_and_the_agent_recovers()
    {
        var (_, vip) = await AddressedServiceAsync("agent-retry", "198.51.100.84/30");
        var ipvs = new UnavailableIpvs(new InMemoryIpvs());
        var dataplane = InMemory() with { Ipvs = ipvs };
        var failures = 0;
        var agent = StartAgent(dataplane);
        agent.Synced += report => Interlocked.Add(ref failures, report.Failure is null ? 0 : 1);

        await Eventually.TrueAsync(() => Volatile.Read(ref failures) >= 2, "failed syncs are retried");
        agent.IsReady.Should().BeFalse();
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items
            .Any(e => e.Reason == "SyncFailed" && e.InvolvedObject.Kind == "Node" && e.InvolvedObject.Name == "node-a" && e.Message.Contains("is ip_vs loaded?", StringComparison.Ordinal)),
            "a Warning Event on the Node says why");

        ipvs.Available = true;
        await Eventually.TrueAsync(() => agent.IsReady && ipvs.ListServices().Any(s => s.Key.Address == vip), "programmed once IPVS is there");
    }

    [Test]
    public async Task Syncs_that_keep_failing_turn_readiness_false_and_are_logged_once_with_their_cause()
    {
        var (_, vip) = await AddressedServiceAsync("agent-unready", "198.51.100.88/30");
        var ipvs = new UnavailableIpvs(new InMemoryIpvs()) { Available = true };
        using var logs = new CollectingLoggerProvider();
        var agent = new NodeAgent(ApiConnection.Of(Client), InMemory() with { Ipvs = ipvs }, new NodeAgentOptions { NodeName = "node-a", SyncPeriod = TimeSpan.FromMilliseconds(200) }, logs.Factory);
        var stop = new CancellationTokenSource();
        agents.Add((Task.Run(() => agent.RunAsync(stop.Token)), stop));
        await Eventually.TrueAsync(() => agent.IsReady && ipvs.ListServices().Any(s => s.Key.Address == vip), "ready and programmed");

        ipvs.Available = false;

        await Eventually.TrueAsync(() => agent.FailedSyncsInARow >= 3, () => $"three syncs in a row fail; {agent.FailedSyncsInARow} so far");
        agent.IsReady.Should().BeFalse("a sync loop that keeps failing is not ready");
        IpvsOperator.Node.NodeMetrics.FailedSyncsInARow.Value.Should().BeGreaterThanOrEqualTo(3);
        logs.At(LogLevel.Error, nameof(NodeAgent)).Where(e => e.Exception is not null).Should().ContainSingle(
            "a failure is logged with its cause once, when it starts, not on every retry").Which.Exception.Should().BeOfType<NetlinkException>()
            .Which.Message.Should().Contain("is ip_vs loaded?");

        ipvs.Available = true;

        await Eventually.TrueAsync(() => agent.IsReady, "ready again once a sync completes");
        agent.FailedSyncsInARow.Should().Be(0);
        logs.At(LogLevel.Information, nameof(NodeAgent)).Should().Contain(e => e.Message.Contains("completed again after", StringComparison.Ordinal));
    }

    [Test]
    public async Task The_node_host_reports_ready_after_its_first_sync_and_serves_its_metrics()
    {
        var state = Directory.CreateTempSubdirectory("node-host-");
        var host = new NodeHost(new NodeHostOptions
        {
            Kubeconfig = Server.WriteKubeconfig(Path.Combine(state.FullName, "kubeconfig")),
            Dataplane = DataplaneKind.Memory,
            MetricsPort = 0,
            Bind = System.Net.IPAddress.Loopback,
            Agent = new NodeAgentOptions { NodeName = "node-a" },
        }, NullLoggerFactory.Instance);
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource();
        var run = Task.Run(() => host.RunAsync(stop.Token, started));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.MetricsPort}") };

        await Eventually.TrueAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "ready after the first sync");
        (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).IsSuccessStatusCode.Should().BeTrue();
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        metrics.Should().Contain("ipvsoperator_node_sync_duration_seconds_bucket").And.Contain("ipvsoperator_node_kernel_writes_total")
            .And.Contain("ipvsoperator_node_virtual_services").And.Contain("ipvsoperator_node_last_successful_sync_timestamp_seconds");

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        state.Delete(recursive: true);
    }

    /// <summary>IPVS that counts the destination dumps per service.</summary>
    private sealed class CountingIpvs(IIpvs inner) : IIpvs
    {
        public System.Collections.Concurrent.ConcurrentDictionary<VirtualServiceKey, int> Dumps { get; } = new();

        public IReadOnlyList<VirtualService> ListServices() => inner.ListServices();
        public IReadOnlyList<string> Unrepresented => inner.Unrepresented;
        public void AddService(VirtualService service) => inner.AddService(service);
        public void UpdateService(VirtualService service) => inner.UpdateService(service);
        public void DeleteService(VirtualServiceKey key) => inner.DeleteService(key);
        public void AddDestination(VirtualServiceKey key, Destination destination) => inner.AddDestination(key, destination);
        public void UpdateDestination(VirtualServiceKey key, Destination destination) => inner.UpdateDestination(key, destination);
        public void DeleteDestination(VirtualServiceKey key, IPAddressValue address, ushort port) => inner.DeleteDestination(key, address, port);
        public ServiceStats GetStats(VirtualServiceKey key) => inner.GetStats(key);

        public IReadOnlyList<DestinationConnections> ListConnections(VirtualServiceKey key) => inner.ListConnections(key);

        public IReadOnlyList<Destination> ListDestinations(VirtualServiceKey key)
        {
            Dumps.AddOrUpdate(key, 1, (_, n) => n + 1);
            return inner.ListDestinations(key);
        }
    }

    [Test]
    public async Task A_sync_after_a_change_reads_back_only_the_changed_service_and_never_foreign_ones()
    {
        var (ns, vip) = await AddressedServiceAsync("agent-incremental", "198.51.100.92/30");
        await CreateServiceAsync(ns, "other", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "agent-incremental" });
        var otherVip = IPAddressValue.Parse(await WaitForAddressAsync(ns, "other"));
        await PublishEndpointsAsync(ns, "web", "10.244.1.2");
        await PublishEndpointsAsync(ns, "other", "10.244.1.3");
        var ipvs = new CountingIpvs(new InMemoryIpvs());
        var foreign = new VirtualServiceKey(IPAddressValue.Parse("10.96.0.1"), IpvsProtocol.TCP, 443);
        ipvs.AddService(new VirtualService(foreign));
        var dataplane = InMemory() with { Ipvs = ipvs };
        StartAgent(dataplane);
        var web = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        var other = new VirtualServiceKey(otherVip, IpvsProtocol.TCP, 80);
        await Eventually.TrueAsync(() => Table(ipvs, web) == "10.244.1.2:8080/1" && Table(ipvs, other) == "10.244.1.3:8080/1", "both programmed");
        ipvs.Dumps.Clear();

        await PublishEndpointsAsync(ns, "web", "10.244.1.2", "10.244.2.2");

        await Eventually.TrueAsync(() => Table(ipvs, web) == "10.244.1.2:8080/1 10.244.2.2:8080/1", "the change is programmed");
        ipvs.Dumps.Should().ContainKey(web);
        ipvs.Dumps.Should().NotContainKey(other, "its wanted destinations did not change: the kernel holds what the last sync wrote");
        ipvs.Dumps.Should().NotContainKey(foreign, "a foreign service's destinations are never read");
    }
    [Test]
    public async Task A_connection_sync_daemon_that_cannot_start_is_a_Warning_on_the_Node_and_in_its_IPVSNode_and_the_agent_stays_ready()
    {
        await Client.CoreV1.CreateNodeAsync(new V1Node { Metadata = new V1ObjectMeta { Name = "node-sync" } });
        var (_, vip) = await AddressedServiceAsync("agent-connsync", "198.51.100.132/30");
        var dataplane = InMemory();
        var objects = new IpvsOperator.Runtime.Client.EntityClient<V1Alpha1IPVSNode>(Client);
        var agent = StartAgent(dataplane, new NodeAgentOptions { NodeName = "node-sync", SyncPeriod = TimeSpan.FromMilliseconds(200), ConnectionSync = new ConnectionSyncOptions("eth-sync", 34) });

        await Eventually.TrueAsync(() => agent.IsReady && dataplane.Ipvs.ListServices().Any(s => s.Key.Address == vip), "the node serves without connection sync");
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedEventAsync("default")).Items
            .Any(e => e.Reason == "ConnectionSyncFailed" && e.Type == "Warning" && e.InvolvedObject.Kind == "Node" && e.InvolvedObject.Name == "node-sync"
                && e.Message.Contains("start the IPVS sync daemon, master on eth-sync (sync id 34) failed", StringComparison.Ordinal)
                && e.Message.Contains("there is no interface eth-sync", StringComparison.Ordinal)),
            "a Warning Event on the Node names the daemon and why");
        V1Alpha1IPVSNode? shown = null;
        await Eventually.TrueAsync(async () => (shown = await objects.GetAsync(null, "node-sync"))?.Status?.ConnectionSync is { Problem: not null, Running: null, Interface: "eth-sync", SyncId: 34 },
            () => $"the IPVSNode shows it; now {Shown(shown)}");

        ((InMemoryAddressManager)dataplane.Links).AddLink("eth-sync", "veth");
        await Eventually.TrueAsync(async () => (shown = await objects.GetAsync(null, "node-sync"))?.Status?.ConnectionSync is { Problem: null, Running: "master,backup" },
            () => $"once the interface is there, both daemons run (at the next sync); now {Shown(shown)}");
        dataplane.ConnectionSync!.ListDaemons().Should().Equal(new ConnectionSyncOptions("eth-sync", 34).Daemons);

        static string Shown(V1Alpha1IPVSNode? node) => node?.Status?.ConnectionSync is { } sync ? $"running {sync.Running}, problem {sync.Problem}" : "no connectionSync";
    }
}
