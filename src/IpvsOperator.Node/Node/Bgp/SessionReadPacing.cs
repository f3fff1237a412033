using IpvsOperator.Runtime.Resilience;

namespace IpvsOperator.Node.Bgp;

/// <summary>
/// How long the announcer waits before reading FRR's sessions again. A read is a vtysh process and
/// bgpd's work: on a loaded node (or under emulation) one took seconds, and reading again a second
/// after the last read ended kept three agents' vtysh and bgpd busy most of the time, starving the
/// very reload that would bring the sessions up. So the wait is never shorter than
/// <see cref="IdleShare"/> times the last read: reads take at most a third of the time, however slow
/// FRR is.
/// </summary>
internal static class SessionReadPacing
{
    /// <summary>The wait after a read, as a multiple of how long that read took at least.</summary>
    public const int IdleShare = 2;

    /// <param name="options">The poll periods, normal and while a session is down.</param>
    /// <param name="applyFailures">Applies failed in a row: their backoff decides.</param>
    /// <param name="anySessionDown">A configured session is not established: look more often, to catch why.</param>
    /// <param name="lastRead">How long the last read took.</param>
    public static TimeSpan Next(BgpOptions options, int applyFailures, bool anySessionDown, TimeSpan lastRead)
    {
        var wanted = applyFailures > 0 ? Backoff.NodeSync.Delay(applyFailures)
            : anySessionDown ? TimeSpan.FromTicks(Math.Min(options.SessionPoll.Ticks, options.DownSessionPoll.Ticks))
            : options.SessionPoll;
        var gentle = lastRead * IdleShare;
        return gentle > wanted ? gentle : wanted;
    }
}
