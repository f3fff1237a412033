using IpvsOperator.Node.Bgp;

namespace IpvsOperator.Tests.Node.Bgp;

/// <summary>How often the agent reads FRR's sessions: as configured on a quick FRR, gently on a slow one.</summary>
public class SessionReadPacingTests
{
    private static readonly BgpOptions Options = new() { SessionPoll = TimeSpan.FromSeconds(5), DownSessionPoll = TimeSpan.FromSeconds(1) };

    [Test]
    public void A_quick_read_waits_the_configured_poll_and_a_down_session_is_looked_at_every_second()
    {
        SessionReadPacing.Next(Options, applyFailures: 0, anySessionDown: false, TimeSpan.FromMilliseconds(40)).Should().Be(TimeSpan.FromSeconds(5));
        SessionReadPacing.Next(Options, applyFailures: 0, anySessionDown: true, TimeSpan.FromMilliseconds(40)).Should().Be(TimeSpan.FromSeconds(1));
    }

    [Test]
    public void A_slow_read_is_followed_by_twice_its_time_so_reading_takes_at_most_a_third_of_a_loaded_node()
    {
        // Seen in the kernel VM under load: vtysh took seconds, and a read every second after the last
        // one kept three agents' FRRs busy while their reloads ran past their bound.
        SessionReadPacing.Next(Options, applyFailures: 0, anySessionDown: true, TimeSpan.FromSeconds(3)).Should().Be(TimeSpan.FromSeconds(6));
        SessionReadPacing.Next(Options, applyFailures: 0, anySessionDown: false, TimeSpan.FromSeconds(4)).Should().Be(TimeSpan.FromSeconds(8));
    }

    [Test]
    public void Failing_applies_keep_their_backoff_unless_reads_are_slower_still()
    {
        var backoff = SessionReadPacing.Next(Options, applyFailures: 3, anySessionDown: true, TimeSpan.Zero);
        backoff.Should().BeGreaterThan(TimeSpan.FromSeconds(1), "the apply's backoff, not the down-session poll");
        SessionReadPacing.Next(Options, applyFailures: 3, anySessionDown: true, backoff).Should().Be(backoff * 2);
    }
}
