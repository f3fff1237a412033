using IpvsOperator.Node.Announcement;
using k8s.Models;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// How long another node's presence Lease is live: to the millisecond when its annotation agrees
/// with the whole seconds of <c>leaseDurationSeconds</c>, else those seconds (the longer wait, so a
/// Lease that bypassed the agent's own writing cannot make a holder look dead sooner than it says).
/// </summary>
public class LeaseDurationTests
{
    private static V1Lease Presence(int? seconds, string? milliseconds) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "ipvs-node-node-b",
            Annotations = milliseconds is null ? null : new Dictionary<string, string> { [AnnouncementElection.LeaseDurationAnnotation] = milliseconds },
        },
        Spec = new V1LeaseSpec { HolderIdentity = "node-b", LeaseDurationSeconds = seconds },
    };

    [TestCase(2, "1500", 1500, TestName = "1.5 s written as 2 seconds and 1500 ms is 1.5 s")]
    [TestCase(2, "2000", 2000, TestName = "A whole number of seconds in milliseconds is itself")]
    [TestCase(3, null, 3000, TestName = "An agent from before the annotation is judged by its seconds")]
    [TestCase(2, "1", 2000, TestName = "1 ms under 2 seconds disagrees: the seconds")]
    [TestCase(2, "1000", 2000, TestName = "1000 ms would round to 1 second, not 2: the seconds")]
    [TestCase(2, "2001", 2000, TestName = "More than the seconds disagrees: the seconds")]
    [TestCase(2, "-1500", 2000, TestName = "A negative value: the seconds")]
    [TestCase(2, "1.5e3", 2000, TestName = "Not an integer: the seconds")]
    [TestCase(2, "99999999999999999999", 2000, TestName = "Too large to read: the seconds")]
    [TestCase(2, " 1500", 2000, TestName = "Padded: the seconds")]
    public void A_presence_Lease_is_live_for_its_annotated_duration_only_when_it_agrees_with_its_seconds(int seconds, string? annotation, int expectedMilliseconds) =>
        AnnouncementElection.DurationOf(Presence(seconds, annotation), TimeSpan.FromSeconds(9)).Should().Be(TimeSpan.FromMilliseconds(expectedMilliseconds));

    [Test]
    public void A_Lease_without_seconds_is_live_for_this_nodes_own_lease_duration_in_whole_seconds_rounded_up() =>
        AnnouncementElection.DurationOf(Presence(null, "1500"), TimeSpan.FromMilliseconds(1500)).Should().Be(TimeSpan.FromMilliseconds(1500),
            "1500 ms agrees with 2 whole seconds, the own lease rounded up");
}
