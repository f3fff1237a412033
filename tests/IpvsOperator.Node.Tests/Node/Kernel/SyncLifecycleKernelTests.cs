using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Ipvs;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Node.Kernel;

/// <summary>
/// The random histories of <see cref="SyncLifecycleTests"/> against the real kernel: IPVS over
/// generic netlink and the VIPs on a dummy link (runs only in the kernel VM: make test-kernel).
/// The source NAT stays in memory: its nft process would dominate the run under emulation, and the
/// node agent's kernel tests cover it.
/// </summary>
[Category("Kernel")]
[NonParallelizable]
public class SyncLifecycleKernelTests
{
    [OneTimeSetUp]
    public void RequireIpvs() => KernelRequirement.Ipvs();

    [Test]
    public void A_random_history_keeps_the_kernel_equal_to_the_desired_state([Values(11, 12)] int seed)
    {
        using var ipvs = IpvsNetlink.Open();
        using var route = RouteNetlink.Open();
        RemoveOurs(ipvs, route);
        try
        {
            var dataplane = new NodeDataplane(ipvs, route, new InMemoryNetfilter(), new InMemoryNeighbourAdvertiser(), new InMemorySysctl());
            new SyncLifecycle(dataplane, seed).Run(steps: 500);
        }
        finally
        {
            RemoveOurs(ipvs, route);
        }
    }

    /// <summary>What this test creates, from an earlier run or a failed one: the history's VIPs and the foreign rules.</summary>
    private static void RemoveOurs(IpvsNetlink ipvs, RouteNetlink route)
    {
        var addresses = ClusterHistory.Vips.Append(SyncLifecycle.ForeignAddress).Append(SyncLifecycle.ForeignService.Address).ToHashSet();
        ipvs.Flush(ipvs.ListServices().Select(s => s.Key).Where(k => addresses.Contains(k.Address)));
        if (route.ListLinks().Any(l => l.Name == WellKnown.BindInterface))
        {
            foreach (var address in route.ListAddresses(WellKnown.BindInterface).Where(addresses.Contains))
            {
                route.RemoveAddress(WellKnown.BindInterface, address);
            }
        }
    }
}
