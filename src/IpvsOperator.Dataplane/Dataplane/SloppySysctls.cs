using Microsoft.Extensions.Logging;

namespace IpvsOperator.Dataplane;

/// <summary>
/// <c>net.ipv4.vs.sloppy_tcp</c> and <c>sloppy_sctp</c>: with them a node makes a connection entry
/// for a TCP or SCTP flow whose first packet it never saw (a flow the router's ECMP moved to it from
/// another node) and schedules it, instead of handing the packet to its own stack, which answers
/// with a reset. With the mh scheduler, which every node fills alike, the flow reaches the backend
/// that already holds it. They apply to the whole node (every IPVS service), so they are set only
/// while the node serves a virtual service that asks for them, and never turned back off: the agent
/// cannot tell its own setting from a human's.
/// </summary>
public sealed class SloppySysctls(ISysctl sysctl, ILogger logger)
{
    public const string Tcp = "net/ipv4/vs/sloppy_tcp";
    public const string Sctp = "net/ipv4/vs/sloppy_sctp";

    private bool checkedOnce;
    private string? reportedProblem;

    /// <summary>Whether both are set, as last checked (false until they are wanted).</summary>
    public bool On { get; private set; }

    /// <summary>Sets them when <paramref name="wanted"/> and not set (checked once, and again when <paramref name="verify"/>); returns the writes made.</summary>
    public int Ensure(bool wanted, bool verify)
    {
        if (!wanted || (checkedOnce && On && !verify))
        {
            return 0;
        }
        checkedOnce = true;
        try
        {
            var writes = Set(Tcp) + Set(Sctp);
            On = true;
            reportedProblem = null;
            return writes;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            On = false;
            if (error.Message != reportedProblem)
            {
                reportedProblem = error.Message;
                logger.LogWarning("cannot set {Settings} ({Error}): a flow the router moves to this node from another breaks (reset) instead of keeping its backend. " +
                    "Give the agent write access to the host's /proc/sys/net/ipv4 (--proc-sys), or set them on the node (sysctl -w net.ipv4.vs.sloppy_tcp=1 net.ipv4.vs.sloppy_sctp=1)",
                    "net.ipv4.vs.sloppy_tcp and net.ipv4.vs.sloppy_sctp", error.Message);
            }
            return 0;
        }
    }

    private int Set(string key) => SysctlSwitch.TurnOn(sysctl, key, logger);
}
