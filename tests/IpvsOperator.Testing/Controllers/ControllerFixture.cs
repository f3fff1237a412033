using IpvsOperator.Addressing;
using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
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
    protected (Task Run, CancellationTokenSource Stop) StartController(ControllerSettings? settings = null, ILoggerFactory? loggers = null, Backoff? backoff = null) =>
        StartRuntime(settings, loggers, backoff).Instance;

    /// <summary>As <see cref="StartController"/>, with the runtime, whose runners count their reconciles.</summary>
    protected (OperatorRuntime Runtime, (Task Run, CancellationTokenSource Stop) Instance) StartRuntime(ControllerSettings? settings = null, ILoggerFactory? loggers = null,
        Backoff? backoff = null)
    {
        loggers ??= NullLoggerFactory.Instance;
        var runtime = new OperatorRuntime(Client, new LeaderElectionOptions { Enabled = false }, loggers)
            .AddLoadBalancerControllers(Client, settings ?? new ControllerSettings(), loggers,
                new ControllerOptions { Backoff = backoff ?? new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(2)) });
        var stop = new CancellationTokenSource();
        var instance = (Task.Run(() => runtime.RunAsync(stop.Token)), stop);
        running.Add(instance);
        return (runtime, instance);
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

    /// <summary>Creates <paramref name="count"/> LoadBalancer Services at once, svc-000 on, by 8 writers.</summary>
    protected async Task CreateServicesAsync(string ns, int count)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer($"svc-{i:D3}"), ns);
            }
        })));
    }

    /// <summary>Waits until <paramref name="count"/> Services of the namespace show an address and the pool's status counts them.</summary>
    protected async Task WaitUntilPublishedAsync(string ns, string pool, int count)
    {
        var seen = "nothing yet";
        await Eventually.TrueAsync(async () =>
        {
            var allocated = (await Pools.GetAsync(null, pool))?.Status?.IPv4?.Allocated ?? 0;
            var published = allocated == count ? (await Client.CoreV1.ListNamespacedServiceAsync(ns)).Items.Count(s => s.Status?.LoadBalancer?.Ingress is { Count: > 0 }) : 0;
            seen = $"{allocated} allocated in the pool's status, {published} published";
            return allocated == count && published == count;
        }, () => $"{count} Services are published and counted by IPPool {pool} ({seen})", TimeSpan.FromSeconds(120));
    }

    /// <summary>The requests LocalCluster has served so far, by verb and resource ("patch services/status").</summary>
    protected Dictionary<string, long> RequestCounts() => new(Server.RequestCounts, StringComparer.Ordinal);

    /// <summary>The writes (create, update, patch, delete) served since <paramref name="before"/>, by verb and resource.</summary>
    protected Dictionary<string, long> WritesSince(Dictionary<string, long> before) =>
        RequestCounts().Where(c => c.Key.Split(' ')[0] is "create" or "update" or "patch" or "delete" or "deletecollection")
            .Select(c => (c.Key, Count: c.Value - before.GetValueOrDefault(c.Key))).Where(c => c.Count > 0).ToDictionary(c => c.Key, c => c.Count, StringComparer.Ordinal);

    /// <summary>The runner of one of the controllers (ServiceController, PoolController, AllocationController), with its counts.</summary>
    protected static IControllerStatistics Runner(OperatorRuntime runtime, string controller) =>
        runtime.Controllers.Single(c => c.Name.StartsWith(controller + "<", StringComparison.Ordinal));

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
