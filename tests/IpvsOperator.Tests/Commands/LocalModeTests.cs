using k8s;
using IpvsOperator.Commands;
using IpvsOperator.Entities;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Commands;

/// <summary>What `make run` promises a newcomer, checked with the real kubectl.</summary>
public class LocalModeTests
{
    [Test]
    public async Task Local_mode_gives_the_sample_Service_an_address_and_an_IPVS_table_and_refuses_a_bad_pool()
    {
        var state = Directory.CreateTempSubdirectory("local-mode-");
        var output = new StringWriter();
        var local = await RunningLocalMode.StartAsync(state.FullName, TextWriter.Synchronized(output));
        var mode = local.Mode;
        Task<ProcessResult> Kubectl(params string[] arguments) =>
            Processes.RunAsync("kubectl", ["--kubeconfig", mode.KubeconfigPath, "--cache-dir", Path.Combine(state.FullName, "cache"), .. arguments]);

        output.ToString().Should().Contain(mode.KubeconfigPath);
        await Eventually.TrueAsync(() => output.ToString().Contains("default/sample-web", StringComparison.Ordinal) && output.ToString().Contains("192.0.2.", StringComparison.Ordinal),
            "the sample Service's address is shown");
        await Eventually.TrueAsync(() => System.Text.RegularExpressions.Regex.IsMatch(output.ToString(), @"TCP  192\.0\.2\.\d+:80 rr\n  +-> 10\.244\.0\.10:8080 +Masq +1\n  +-> 10\.244\.0\.11:8080 +Masq +1"),
            () => $"the node agent's IPVS table shows the sample's virtual service; output so far:\n{output}");
        var listed = await Kubectl("get", "ippools,svc,ipalloc");
        listed.ExitCode.Should().Be(0, listed.Error);
        listed.Output.Should().Contain("ippool.ipvsoperator.io/sample-pool").And.Contain("service/sample-web").And.Contain("ipallocation.ipvsoperator.io/ipv4-192-0-2-");

        var overlapping = Path.Combine(state.FullName, "overlap.yaml");
        await File.WriteAllTextAsync(overlapping, "apiVersion: ipvsoperator.io/v1alpha1\nkind: IPPool\nmetadata: {name: overlap}\nspec: {addresses: [192.0.2.8/29]}\n");
        var refused = await Kubectl("create", "-f", overlapping);
        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("denied the request").And.Contain("overlaps 192.0.2.0-192.0.2.15 of IPPool sample-pool");

        // Each component's endpoint serves its own metrics (and the process's), even with both in one process.
        var ports = System.Text.RegularExpressions.Regex.Match(output.ToString(), @"http://127\.0\.0\.1:(\d+)/metrics \(controller\), http://127\.0\.0\.1:(\d+)/metrics \(node agent\)");
        ports.Success.Should().BeTrue("the banner names both metrics endpoints");
        using var http = new HttpClient();
        var controllerMetrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{ports.Groups[1].Value}/metrics"));
        var nodeMetrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{ports.Groups[2].Value}/metrics"));
        controllerMetrics.Should().Contain("ipvsoperator_pool_addresses").And.Contain("ipvsoperator_reconcile_duration_seconds").And.NotContain("ipvsoperator_node_");
        nodeMetrics.Should().Contain("ipvsoperator_node_sync_duration_seconds").And.NotContain("ipvsoperator_pool_addresses").And.NotContain("ipvsoperator_reconcile_");
        nodeMetrics.Should().Contain("process_working_set_bytes", "the process's own figures are served too");

        var malformed = Path.Combine(state.FullName, "malformed.yaml");
        await File.WriteAllTextAsync(malformed, "apiVersion: ipvsoperator.io/v1alpha1\nkind: IPPool\nmetadata: {name: malformed}\nspec: {addresses: [10.0.0.300/24]}\n");
        (await Kubectl("create", "-f", malformed)).Error.Should().Contain("'10.0.0.300/24' is not a valid CIDR");

        await local.DisposeAsync();
        state.Delete(recursive: true);
    }

    [Test]
    public async Task The_walkthrough_with_kubectl_deletes_changes_types_and_refuses_bad_annotations_without_breaking_the_node_agent()
    {
        var state = Directory.CreateTempSubdirectory("local-walkthrough-");
        var local = await RunningLocalMode.StartAsync(state.FullName);
        var mode = local.Mode;
        Task<ProcessResult> Kubectl(params string[] arguments) =>
            Processes.RunAsync("kubectl", ["--kubeconfig", mode.KubeconfigPath, "--cache-dir", Path.Combine(state.FullName, "cache"), .. arguments]);
        async Task<ProcessResult> Apply(string yaml)
        {
            var file = Path.Combine(state.FullName, $"{Guid.NewGuid():N}.yaml");
            await File.WriteAllTextAsync(file, yaml);
            return await Kubectl("apply", "-f", file);
        }
        async Task<string> AddressOf(string service)
        {
            var address = string.Empty;
            await Eventually.TrueAsync(async () => (address = (await Kubectl("get", "svc", service, "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")).Output.Trim()).Length > 0,
                $"{service} has an address");
            return address;
        }
        var ipvs = mode.Node!.Dataplane!.Ipvs;
        string Table(string vip) => string.Join(" ", ipvs.ListServices().Where(s => s.Key.Address.ToString() == vip).OrderBy(s => s.Key)
            .Select(s => $"{s.Key.Port}:{ipvs.ListDestinations(s.Key).Count}"));
        string TwoPorts(string name) => $"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  type: LoadBalancer\n  selector: {{app: {name}}}\n" +
            "  ports:\n  - {name: http, port: 80, targetPort: 8080}\n  - {name: https, port: 443, targetPort: 8443}\n";

        // The docs' way to make a Service with kubectl alone (create in the client, apply on the server).
        var generated = await Kubectl("create", "service", "loadbalancer", "cart", "--tcp=80:8080", "--dry-run=client", "-o", "yaml");
        generated.ExitCode.Should().Be(0, generated.Error);
        (await Apply(generated.Output)).ExitCode.Should().Be(0);
        var cart = await AddressOf("cart");
        await Eventually.TrueAsync(() => Table(cart) == "80:2", () => $"cart gets stand-in endpoints; IPVS has [{Table(cart)}]");

        // A two-port Service with no EndpointSlice of its own: stand-in endpoints, two virtual services.
        (await Apply(TwoPorts("shop"))).ExitCode.Should().Be(0);
        var shop = await AddressOf("shop");
        await Eventually.TrueAsync(() => Table(shop) == "80:2 443:2", () => $"both ports of shop are programmed with the stand-in endpoints; IPVS has [{Table(shop)}]");

        // Deleting it removes both virtual services in one sync (this once broke every later sync)...
        (await Kubectl("delete", "svc", "shop")).ExitCode.Should().Be(0);
        await Eventually.TrueAsync(() => Table(shop).Length == 0, () => $"shop's virtual services are gone; IPVS has [{Table(shop)}]");
        // ...and a Service created after it is programmed.
        (await Apply(TwoPorts("blog"))).ExitCode.Should().Be(0);
        var blog = await AddressOf("blog");
        await Eventually.TrueAsync(() => Table(blog) == "80:2 443:2", () => $"a Service created afterwards is programmed; IPVS has [{Table(blog)}]");
        mode.Node.Agent!.FailedSyncsInARow.Should().Be(0);

        // The sample is announced; once it is a ClusterIP Service, nothing says it is.
        await Eventually.TrueAsync(async () => (await Kubectl("get", "svc", "sample-web", "-o", "jsonpath={.status.conditions[?(@.type==\"ipvsoperator.io/Announced\")].message}")).Output == $"192.0.2.1 is announced from {LocalMode.LocalNodeName} (eth0)",
            "the sample Service names its announcing node");
        (await Kubectl("patch", "svc", "sample-web", "--type", "merge", "-p", "{\"spec\":{\"type\":\"ClusterIP\"}}")).ExitCode.Should().Be(0);
        await Eventually.TrueAsync(async () =>
        {
            var json = (await Kubectl("get", "svc", "sample-web", "-o", "json")).Output;
            return !json.Contains("ipvsoperator.io/Announced", StringComparison.Ordinal)
                && !json.Contains("ipvsoperator.io/allocated-from-pool", StringComparison.Ordinal);
        }, "the annotations and the condition are gone from a Service that is no longer a LoadBalancer");
        await Eventually.TrueAsync(async () => !(await Kubectl("get", "leases", "-n", WellKnown.NodeNamespace, "-l", "ipvsoperator.io/lease=address", "-o", "name")).Output.Contains("ipvs-vip-ipv4-192-0-2-1", StringComparison.Ordinal),
            "the sample's address Lease is deleted");

        // Refused at admission, naming the value: two IPv4 addresses, and an address outside the pool named.
        var twoAddresses = await Apply("apiVersion: v1\nkind: Service\nmetadata:\n  name: two\n  annotations: {ipvsoperator.io/load-balancer-ips: '192.0.2.5,192.0.2.6'}\n" +
            "spec: {type: LoadBalancer, ports: [{port: 80}]}\n");
        twoAddresses.ExitCode.Should().NotBe(0);
        twoAddresses.Error.Should().Contain("denied the request").And.Contain("'192.0.2.5,192.0.2.6' names more than one IPv4 address");
        (await Apply("apiVersion: ipvsoperator.io/v1alpha1\nkind: IPPool\nmetadata: {name: other}\nspec: {addresses: [198.51.100.0/28]}\n")).ExitCode.Should().Be(0);
        var outside = await Apply("apiVersion: v1\nkind: Service\nmetadata:\n  name: outside\n  annotations: {ipvsoperator.io/address-pool: other, ipvsoperator.io/load-balancer-ips: 192.0.2.9}\n" +
            "spec: {type: LoadBalancer, ports: [{port: 80}]}\n");
        outside.ExitCode.Should().NotBe(0);
        outside.Error.Should().Contain("denied the request").And.Contain("requested address 192.0.2.9 does not lie in IPPool other");

        await local.DisposeAsync();
        state.Delete(recursive: true);
    }

    [Test]
    public async Task Local_mode_with_bgp_says_so_in_its_banner_and_warns_of_no_flag_that_local_does_not_have()
    {
        var state = Directory.CreateTempSubdirectory("local-bgp-");
        var output = new StringWriter();
        using var logs = new CollectingLoggerProvider();
        var local = await RunningLocalMode.StartAsync(state.FullName, TextWriter.Synchronized(output), logs.Factory, options => options with { Bgp = true });
        using var client = local.Mode.Server!.CreateClient();
        // The presence Lease is written by the election, which starts once the peer heartbeats are settled.
        await Eventually.TrueAsync(async () => (await client.CoordinationV1.ListNamespacedLeaseAsync(WellKnown.NodeNamespace)).Items.Count > 0,
            "the layer 2 election runs");

        output.ToString().Should().MatchRegex(@"\n  bgp +announced .*in-memory stand-in of FRR", "the banner says that this local mode speaks BGP, and to what");
        logs.Entries.Where(e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).Select(e => e.Message)
            .Should().NotContain(m => m.Contains("--heartbeat-address", StringComparison.Ordinal), "local mode has no such flag (and its one node no peers to hear)");

        await local.DisposeAsync();
        state.Delete(recursive: true);
    }
}
