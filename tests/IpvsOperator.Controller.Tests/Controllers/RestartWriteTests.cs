using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Controllers;

/// <summary>
/// A controller started against Services it already served (a restart, a new leader) confirms every
/// address from the claims and writes nothing (issue 37), counted by LocalCluster per verb and resource.
/// </summary>
public class RestartWriteTests : ControllerFixture
{
    private const int Existing = 500;

    [Test]
    public async Task A_restarted_controller_confirms_500_published_Services_without_a_single_write()
    {
        var ns = await NewNamespaceAsync("restart");
        await CreatePoolAsync("restart", "10.201.0.0/20");
        var first = StartRuntime();
        await CreateServicesAsync(ns, Existing);
        await WaitUntilPublishedAsync(ns, "restart", Existing);
        await StopAsync(first.Instance);
        var before = RequestCounts();

        var (runtime, _) = StartRuntime();
        await Eventually.TrueAsync(() => runtime.IsReady, "the new controller has listed everything");
        var services = Runner(runtime, "ServiceController");
        var claims = Runner(runtime, "AllocationController");
        var pools = Runner(runtime, "PoolController");
        // Ready: every Service and every claim looked at once, and the pool looked at again once the
        // claims' looks gathered (its first look comes with its listing, the next PoolStatusDelay after the claims).
        await Eventually.TrueAsync(() => services.Reconciles >= Existing && claims.Reconciles >= Existing && pools.Reconciles >= 2
                && services.QueueDepth == 0 && claims.QueueDepth == 0 && pools.QueueDepth == 0,
            () => $"every object looked at (Services {services.Reconciles}, claims {claims.Reconciles}, pool {pools.Reconciles})", TimeSpan.FromSeconds(120));

        var requests = RequestCounts().Select(c => (c.Key, Count: c.Value - before.GetValueOrDefault(c.Key))).Where(c => c.Count > 0).OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
        TestContext.Out.WriteLine($"restart against {Existing} Services: {string.Join(", ", requests.Select(r => $"{r.Key} {r.Count}"))}; "
            + $"reconciles: Services {services.Reconciles}, claims {claims.Reconciles}, pool {pools.Reconciles}; "
            + $"objects copied from the caches: claims {claims.CacheItemsCopied}, Services {services.CacheItemsCopied}");
        WritesSince(before).Should().BeEmpty("every Service's status, finalizer, annotation and claim are already right, and so is the pool's status");
        services.Reconciles.Should().Be(Existing, "each Service is looked at once: nothing it was sent changed it");
        services.Failures.Should().Be(0);
        // The work of a restart is reading the cluster once, not once per Service: the claims are read
        // whole to restore the allocator, and each Service's own claims are looked up by its uid (a
        // scan of every claim per Service copied Existing × Existing = 250,000 objects).
        claims.CacheItemsCopied.Should().BeLessThanOrEqualTo(Existing, "the claims are read whole once, to restore the allocator");
        services.CacheItemsCopied.Should().Be(0, "no Service is found by reading every Service");
    }
}
