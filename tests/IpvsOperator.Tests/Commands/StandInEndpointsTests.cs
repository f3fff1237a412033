using IpvsOperator.Commands;
using IpvsOperator.Node;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Commands;

/// <summary>Local mode's stand-in EndpointSlices, as kubectl and the node agent read them.</summary>
public class StandInEndpointsTests : LocalClusterFixture
{
    private CancellationTokenSource stop = null!;
    private Task running = Task.CompletedTask;

    [SetUp]
    public void StartStandIns()
    {
        stop = new CancellationTokenSource();
        running = new StandInEndpoints(Client, LocalMode.LocalNodeName, NullLoggerFactory.Instance).RunAsync(stop.Token);
    }

    [TearDown]
    public async Task StopStandInsAsync()
    {
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        stop.Dispose();
    }

    [Test]
    public async Task Kubectl_describe_shows_a_Service_with_an_unnamed_port_and_its_stand_in_endpoints()
    {
        var ns = await NewNamespaceAsync("describe");
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "shop" },
            Spec = new V1ServiceSpec { Type = "LoadBalancer", Selector = new Dictionary<string, string> { ["app"] = "shop" }, Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }] },
        }, ns);
        await Eventually.TrueAsync(async () => (await SlicesOfAsync(ns, "shop")).Count == 1, "shop gets a stand-in EndpointSlice");

        using var kubectl = new KubectlSession(Server);
        var described = await kubectl.RunAsync("describe", "svc", "shop", "-n", ns);

        described.ExitCode.Should().Be(0, $"kubectl describe reads the stand-in slice as it reads the EndpointSlice controller's; it said:\n{described.Error}");
        described.Output.Should().Contain("10.244.0.10:8080,10.244.0.11:8080");
    }

    [Test]
    public async Task A_slice_the_user_publishes_replaces_the_stand_ins_of_that_Service()
    {
        var ns = await NewNamespaceAsync("published");
        await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("web"), ns);
        await Eventually.TrueAsync(async () => (await SlicesOfAsync(ns, "web")).Count == 1, "web gets a stand-in EndpointSlice first");

        await Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = "web-mine", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = "web" } },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
            Endpoints = [new V1Endpoint { Addresses = ["127.0.0.1"], Conditions = new V1EndpointConditions { Ready = true } }],
        }, ns);

        var names = new List<string>();
        await Eventually.TrueAsync(async () => (names = [.. (await SlicesOfAsync(ns, "web")).Select(s => s.Metadata.Name)]) is ["web-mine"],
            () => $"only the user's slice is left for web (IPVS would otherwise forward to the stand-ins too); there are [{string.Join(", ", names)}]");
    }

    [Test]
    public async Task A_Service_that_stops_being_a_LoadBalancer_loses_its_stand_ins()
    {
        var ns = await NewNamespaceAsync("retyped");
        await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("gone"), ns);
        await Eventually.TrueAsync(async () => (await SlicesOfAsync(ns, "gone")).Count == 1, "gone gets a stand-in EndpointSlice first");

        await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"spec":{"type":"ExternalName","externalName":"example.com"}}""", V1Patch.PatchType.MergePatch), "gone", ns);

        await Eventually.TrueAsync(async () => (await SlicesOfAsync(ns, "gone")).Count == 0,
            "an ExternalName Service has no endpoints, and stand-ins are for LoadBalancer Services only");
    }

    [Test]
    public async Task Each_family_of_a_dual_stack_Service_gets_stand_ins_of_that_family()
    {
        var ns = await NewNamespaceAsync("dual");
        var service = LoadBalancer("both");
        service.Spec.IpFamilyPolicy = "RequireDualStack";
        service.Spec.IpFamilies = ["IPv6", "IPv4"];
        await Client.CoreV1.CreateNamespacedServiceAsync(service, ns);
        var v6 = LoadBalancer("six");
        v6.Spec.IpFamilies = ["IPv6"];
        await Client.CoreV1.CreateNamespacedServiceAsync(v6, ns);

        string Families(IEnumerable<V1EndpointSlice> slices) => string.Join(" ", slices.OrderBy(s => s.AddressType, StringComparer.Ordinal)
            .Select(s => $"{s.AddressType}={string.Join(",", s.Endpoints.SelectMany(e => e.Addresses))}"));
        var both = string.Empty;
        var six = string.Empty;
        await Eventually.TrueAsync(async () => (both = Families(await SlicesOfAsync(ns, "both"))) == "IPv4=10.244.0.10,10.244.0.11 IPv6=fd00:10:244::10,fd00:10:244::11"
                && (six = Families(await SlicesOfAsync(ns, "six"))) == "IPv6=fd00:10:244::10,fd00:10:244::11",
            () => $"a dual-stack Service gets stand-ins of each family and an IPv6 one IPv6 stand-ins; both has [{both}], six has [{six}]");
    }

    private async Task<IList<V1EndpointSlice>> SlicesOfAsync(string ns, string service) =>
        (await Client.DiscoveryV1.ListNamespacedEndpointSliceAsync(ns, labelSelector: $"{DesiredStateBuilder.ServiceNameLabel}={service}")).Items;
}
