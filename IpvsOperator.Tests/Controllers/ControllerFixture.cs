using IpvsOperator.Addressing;
using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.Mapping;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Resilience;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Controllers;

/// <summary>LocalCluster with the CRDs installed and controllers that a test starts and stops.</summary>
public abstract class ControllerFixture : LocalClusterFixture
{
    private readonly List<(Task Run, CancellationTokenSource Stop)> running = [];

    protected EntityClient<V1Alpha1IPPool> Pools { get; private set; } = null!;
    protected EntityClient<V1Alpha1IPAllocation> Allocations { get; private set; } = null!;
    protected EntityClient<V1Service> Services { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task InstallAsync()
    {
        await InstallCrdsAsync();
        Pools = new EntityClient<V1Alpha1IPPool>(Client);
        Allocations = new EntityClient<V1Alpha1IPAllocation>(Client);
        Services = new EntityClient<V1Service>(Client);
    }

    [TearDown]
    public async Task StopControllersAsync()
    {
        foreach (var instance in running.ToList())
        {
            await StopAsync(instance);
        }
        running.Clear();
    }

    /// <summary>Starts a controller instance (leader election off) and returns its handle.</summary>
    protected (Task Run, CancellationTokenSource Stop) StartController(ControllerSettings? settings = null, ILoggerFactory? loggers = null, Backoff? backoff = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        var runtime = new OperatorRuntime(Client, new LeaderElectionOptions { Enabled = false }, loggers)
            .AddLoadBalancerControllers(Client, settings ?? new ControllerSettings(), loggers,
                new ControllerOptions { Backoff = backoff ?? new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2)) });
        var stop = new CancellationTokenSource();
        var instance = (Task.Run(() => runtime.RunAsync(stop.Token)), stop);
        running.Add(instance);
        return instance;
    }

    protected async Task StopAsync((Task Run, CancellationTokenSource Stop) instance)
    {
        if (!instance.Stop.IsCancellationRequested)
        {
            await instance.Stop.CancelAsync();
        }
        await instance.Run.WaitAsync(TimeSpan.FromSeconds(30));
        running.Remove(instance);
    }

    protected async Task<V1Alpha1IPPool> CreatePoolAsync(string name, params string[] addresses) =>
        await Pools.CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = name }, Spec = new IPPoolSpec { Addresses = [.. addresses] } });

    protected async Task<V1Service> CreateServiceAsync(string ns, string name, IDictionary<string, string>? annotations = null, int port = 80, string? loadBalancerClass = null, string type = "LoadBalancer")
    {
        var service = LoadBalancer(name, port);
        service.Spec.Type = type;
        service.Spec.LoadBalancerClass = loadBalancerClass;
        service.Metadata.Annotations = annotations;
        return await Client.CoreV1.CreateNamespacedServiceAsync(service, ns);
    }

    protected async Task<string?> AddressOfAsync(string ns, string name) =>
        (await Services.GetAsync(ns, name))?.Status?.LoadBalancer?.Ingress?.FirstOrDefault()?.Ip;

    protected async Task<string> WaitForAddressAsync(string ns, string name)
    {
        string? address = null;
        await Eventually.TrueAsync(async () => (address = await AddressOfAsync(ns, name)) is not null, $"{ns}/{name} has an address");
        return address!;
    }

    protected async Task<List<V1Alpha1IPAllocation>> ClaimsOfAsync(string ns, string name) =>
        [.. (await Allocations.ListAllAsync()).Items.Where(a => a.Holders().Any(h => h.Namespace == ns && h.Name == name))];

    protected async Task<List<Corev1Event>> EventsAsync(string ns, string name, string reason) =>
        [.. (await Client.CoreV1.ListNamespacedEventAsync(ns)).Items.Where(e => e.InvolvedObject.Name == name && e.Reason == reason)];

    protected static string NameOf(string address) => AllocationNames.For(IPAddressValue.Parse(address));

    /// <summary>Publishes an EndpointSlice as the EndpointSlice controller does: created, or replaced whole.</summary>
    protected async Task<V1EndpointSlice> PublishSliceAsync(string ns, V1EndpointSlice slice)
    {
        var existing = (await Client.DiscoveryV1.ListNamespacedEndpointSliceAsync(ns)).Items.FirstOrDefault(s => s.Metadata.Name == slice.Metadata.Name);
        if (existing is null)
        {
            return await Client.DiscoveryV1.CreateNamespacedEndpointSliceAsync(slice, ns);
        }
        slice.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
        return await Client.DiscoveryV1.ReplaceNamespacedEndpointSliceAsync(slice, slice.Metadata.Name, ns);
    }
}
