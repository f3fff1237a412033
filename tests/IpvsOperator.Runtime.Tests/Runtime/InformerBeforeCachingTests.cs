using System.Collections.Concurrent;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Watching;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Runtime;

/// <summary>
/// The owner's step before caching (the node agent shares repeated texts there) sees every object,
/// listed or watched, before the cache holds it and before any subscriber hears of it.
/// </summary>
public class InformerBeforeCachingTests : LocalClusterFixture
{
    [Test]
    public async Task Listed_and_watched_objects_pass_through_it_before_the_cache_and_the_subscribers()
    {
        var ns = await NewNamespaceAsync();
        await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("listed"), ns);
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"kubeconfig-{Guid.NewGuid():N}");
        Server.WriteKubeconfig(file);
        using var connection = ApiConnection.Connect(KubernetesClientConfiguration.BuildConfigFromConfigFile(file), "test");
        File.Delete(file);
        var informer = new Informer<V1Service>(new EntityClient<V1Service>(connection), NullLogger.Instance, ns)
        {
            BeforeCaching = service => service.Spec.Type = "seen:" + service.Spec.Type,
        };
        var heard = new ConcurrentQueue<string>();
        informer.Subscribe(e => heard.Enqueue($"{e.Entity.Metadata.Name} {e.Entity.Spec.Type}"));
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None);

        await Client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("watched"), ns);
        await Eventually.TrueAsync(() => heard.Count == 2, () => $"heard [{string.Join(", ", heard)}]");

        heard.Should().Equal("listed seen:LoadBalancer", "watched seen:LoadBalancer");
        informer.Items.Select(s => s.Spec.Type).Should().AllBe("seen:LoadBalancer", "each object passed once, not once per read");
        await stop.CancelAsync();
        await running;
    }
}
