using IpvsOperator.Node;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>The agent's conditions on a Service as Kubernetes conditions go: one per type, others kept, the transition time moving only with the status.</summary>
public class ServiceConditionsTests : LocalClusterFixture
{
    private async Task<V1Service> ReadAsync() => await Client.CoreV1.ReadNamespacedServiceAsync("web", "default");

    [Test]
    public async Task The_transition_time_moves_with_the_status_not_the_message_and_other_types_stay()
    {
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "web" },
            Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Port = 80 }] },
        }, "default");
        var clock = new ManualClock();
        var conditions = new ServiceConditions(ApiConnection.Of(Client), NullLogger.Instance, clock);

        await conditions.EnsureAsync(await ReadAsync(), "example.com/Other", "True", "Because", "another writer's", CancellationToken.None);
        await conditions.EnsureAsync(await ReadAsync(), "example.com/Mine", "False", "SomeFail", "1 of 2", CancellationToken.None);
        var first = ServiceConditions.Find(await ReadAsync(), "example.com/Mine")!.LastTransitionTime;

        clock.Now += TimeSpan.FromMinutes(5);
        await conditions.EnsureAsync(await ReadAsync(), "example.com/Mine", "False", "SomeFail", "0 of 2", CancellationToken.None);
        var reworded = ServiceConditions.Find(await ReadAsync(), "example.com/Mine")!;
        reworded.Message.Should().Be("0 of 2");
        reworded.LastTransitionTime.Should().Be(first, "the status did not change");

        await conditions.EnsureAsync(await ReadAsync(), "example.com/Mine", "True", "AllPass", "2 of 2", CancellationToken.None);
        ServiceConditions.Find(await ReadAsync(), "example.com/Mine")!.LastTransitionTime.Should().Be(clock.Now.UtcDateTime, "the status changed");

        await conditions.RemoveAsync(await ReadAsync(), "example.com/Mine", CancellationToken.None);
        (await ReadAsync()).Status.Conditions.Select(c => c.Type).Should().Equal("example.com/Other");
    }

    [Test]
    public async Task A_condition_observes_the_Services_generation_and_so_none_since_Services_have_none()
    {
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "nogen" },
            Spec = new V1ServiceSpec { Ports = [new V1ServicePort { Port = 80 }] },
        }, "default");
        var conditions = new ServiceConditions(ApiConnection.Of(Client), NullLogger.Instance, new ManualClock());

        await conditions.EnsureAsync(await Client.CoreV1.ReadNamespacedServiceAsync("nogen", "default"), "example.com/Mine", "True", "Fine", "ok", CancellationToken.None);
        var written = ServiceConditions.Find(await Client.CoreV1.ReadNamespacedServiceAsync("nogen", "default"), "example.com/Mine")!;

        written.ObservedGeneration.Should().BeNull("kube-apiserver gives Services no metadata.generation, so there is none to observe (upstream's omitempty drops a 0)");
    }
}
