using System.Diagnostics;
using System.Net;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

public class FaultInjectionTests : LocalClusterFixture
{
    [Test]
    public async Task The_next_N_matching_requests_fail_with_the_given_status()
    {
        Server.Faults.FailNext(2, "create", "configmaps", HttpStatusCode.ServiceUnavailable);

        (await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "f1" } }, "default"))).Code.Should().Be(HttpStatusCode.ServiceUnavailable);
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new() { Name = "unaffected" } }, "default");
        (await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "f2" } }, "default"))).Reason.Should().Be("ServiceUnavailable");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "f3" } }, "default");
    }

    [Test]
    public async Task Responses_can_be_delayed()
    {
        Server.Faults.Delay(TimeSpan.FromMilliseconds(400), "get", "configmaps");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { Name = "slow" } }, "default");

        var watch = Stopwatch.StartNew();
        await Client.CoreV1.ReadNamespacedConfigMapAsync("slow", "default");

        watch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(380));
    }

    [Test]
    public async Task Closing_all_watches_ends_every_open_stream()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var started = new TaskCompletionSource();
        var streaming = Task.Run(async () =>
        {
            await foreach (var _ in Client.CoreV1.WatchListNamespacedConfigMapAsync("default", cancellationToken: cancel.Token))
            {
                started.TrySetResult();
            }
        });
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new() { GenerateName = "wake-" } }, "default");
        await started.Task.WaitAsync(cancel.Token);

        Server.CloseAllWatches();

        await streaming.WaitAsync(cancel.Token);
        streaming.IsCompletedSuccessfully.Should().BeTrue("the stream ends as a dropped connection does");
    }

    [Test]
    public async Task The_next_watch_can_be_forced_to_410_Expired()
    {
        Server.Faults.ForceGoneOnNextWatch();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        KubernetesException? error = null;

        try
        {
            await foreach (var _ in Client.CoreV1.WatchListNamespacedConfigMapAsync("default", resourceVersion: "1", onError: e => error ??= e as KubernetesException, cancellationToken: cancel.Token))
            {
            }
        }
        catch (KubernetesException thrown)
        {
            error = thrown;
        }

        error!.Status.Code.Should().Be(410);
        error.Status.Reason.Should().Be("Expired");
    }
}
