using IpvsOperator.Commands;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// Random histories of Services, EndpointSlices and claims, synced step by step on the in-memory
/// dataplane: after every step the kernel equals the desired state, a second sync writes nothing,
/// and foreign rules survive (see <see cref="SyncLifecycle"/>). A failure names its seed and the
/// changes that led to it, so it replays exactly.
/// </summary>
public class SyncLifecycleTests
{
    [Test]
    public void Random_histories_keep_the_kernel_equal_to_the_desired_state([Values(1, 2, 3, 4, 5, 6, 7, 8)] int seed) =>
        new SyncLifecycle(NodeDataplaneFactory.InMemory(), seed).Run(steps: 400);
}
