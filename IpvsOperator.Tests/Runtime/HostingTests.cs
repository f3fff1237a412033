using System.Collections.Concurrent;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Runtime;

public class HostingTests : LocalClusterFixture
{
    [Test]
    public async Task Controllers_and_finalizers_registered_on_the_host_run_with_it()
    {
        var ns = await NewNamespaceAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(Client);
        builder.Services.AddOperator(new LeaderElectionOptions { Enabled = false })
            .AddController<SeenController, V1ConfigMap>()
            .AddFinalizer<NoteFinalizer, V1ConfigMap>();
        using var host = builder.Build();
        await host.StartAsync();

        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "hosted" } }, ns);

        var seen = host.Services.GetRequiredService<SeenController>();
        await Eventually.TrueAsync(() => seen.Names.Contains("hosted"), "the hosted controller reconciled");
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ReadNamespacedConfigMapAsync("hosted", ns)).Metadata.Finalizers?.Contains(NoteFinalizer.Name) == true,
            "the registered finalizer was added");
        await host.StopAsync();
    }

    public sealed class SeenController : IEntityController<V1ConfigMap>
    {
        public ConcurrentBag<string> Names { get; } = [];

        public Task<ReconcileResult> ReconcileAsync(V1ConfigMap entity, CancellationToken cancellationToken)
        {
            Names.Add(entity.Metadata.Name);
            return Task.FromResult(ReconcileResult.Done);
        }

        public Task DeletedAsync(V1ConfigMap entity, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public sealed class NoteFinalizer : IEntityFinalizer<V1ConfigMap>
    {
        public const string Name = "test.ipvsoperator.io/note";

        public string Identifier => Name;

        public Task FinalizeAsync(V1ConfigMap entity, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
