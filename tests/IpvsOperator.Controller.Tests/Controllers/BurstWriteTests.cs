using System.Diagnostics;
using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Controllers;

/// <summary>
/// What a burst of LoadBalancer Services costs the API server, counted by LocalCluster per verb and
/// resource (issue 37). The controller benchmark measures the same at 1,000 Services, with times.
/// </summary>
public class BurstWriteTests : ControllerFixture
{
    private const int Burst = 500;

    [Test]
    public async Task A_burst_of_Services_costs_three_writes_each_and_the_pool_status_at_most_one_write_per_gathering_delay()
    {
        var ns = await NewNamespaceAsync("burst");
        await CreatePoolAsync("burst", "10.200.0.0/20");
        var (runtime, _) = StartRuntime();
        await Eventually.TrueAsync(() => runtime.IsReady, "the controller has listed everything");
        await Eventually.TrueAsync(async () => await Pools.GetAsync(null, "burst") is { Status.Conditions: not null } settled
            && settled.Metadata.Finalizers?.Contains(WellKnown.Finalizers.PoolInUse) == true, "the pool has its finalizer and a status before the burst");
        var pool = Runner(runtime, "PoolController");
        await Eventually.TrueAsync(() => pool.Reconciles > 0 && pool.QueueDepth == 0, "the pool's first look is over");
        var before = RequestCounts();
        var poolLooksBefore = pool.Reconciles;

        var clock = Stopwatch.StartNew();
        await CreateServicesAsync(ns, Burst);
        await WaitUntilPublishedAsync(ns, "burst", Burst);
        var elapsed = clock.Elapsed;

        var writes = WritesSince(before);
        var poolLooks = pool.Reconciles - poolLooksBefore;
        TestContext.Out.WriteLine($"{Burst} Services: {string.Join(", ", writes.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => $"{w.Key} {w.Value}"))}; "
            + $"pool looks {poolLooks}; Service reconciles {Runner(runtime, "ServiceController").Reconciles}; {elapsed.TotalSeconds:F1} s on this machine");
        writes.Remove("create services"); // the test's own
        writes.Remove("create events"); // IPAllocated, one per Service: not state
        writes.Where(w => w.Key != "patch ippools/status").Should().BeEquivalentTo(new Dictionary<string, long>
        {
            // The release finalizer and the allocated-from-pool annotation, in one conditional write.
            ["patch services"] = Burst,
            // The claim: the IPAllocation named after the address.
            ["create ipallocations"] = Burst,
            // The address in status.loadBalancer.ingress.
            ["patch services/status"] = Burst,
        }, "each Service costs exactly three writes to state, and nothing else is written but the pool's status");
        // A claim schedules the pool's next look PoolStatusDelay ahead unless one is scheduled already, so
        // looks are at least that far apart: at most one per delay of the burst, and the last one. The
        // pool's own status write must not bring it back at once: that looked again after every round
        // trip, several writes a second while claims kept coming.
        var bound = (long)Math.Ceiling(elapsed / AllocationTerm.PoolStatusDelay) + 1;
        poolLooks.Should().BeLessThanOrEqualTo(bound, $"the pool is looked at only once claims gathered for {AllocationTerm.PoolStatusDelay.TotalSeconds} s ({elapsed.TotalSeconds:F1} s of burst)");
        writes.GetValueOrDefault("patch ippools/status").Should().BeInRange(1, poolLooks, "the status is written when it changed, at most once per look");
    }
}
