using Microsoft.Extensions.Logging;

namespace IpvsOperator.Dataplane;

/// <summary>
/// Two IPVS settings that kube-proxy's IPVS mode sets too, so that a destination taken out of
/// service lets go of its clients:
/// <list type="bullet">
/// <item><c>net.ipv4.vs.expire_quiescent_template=1</c>: a sticky client's persistence template that
/// points at a weight-0 destination (draining, or failing its health check) expires, so the client's
/// next connection is scheduled afresh instead of following the template to it;</item>
/// <item><c>net.ipv4.vs.expire_nodest_conn=1</c>: the next packet of a connection whose destination
/// was removed expires it, so the client is told (a reset) instead of retrying into silence.</item>
/// </list>
/// Checked on the first sync and on every periodic one; a node where they cannot be set still
/// serves, and <see cref="ExpiresConnections"/> tells the agent to drain instead of cutting.
/// </summary>
public sealed class IpvsSysctls(ISysctl sysctl, ILogger logger)
{
    public const string ExpireNoDestinationConnections = "net/ipv4/vs/expire_nodest_conn";
    public const string ExpireQuiescentTemplate = "net/ipv4/vs/expire_quiescent_template";

    private bool checkedOnce;
    private string? reportedProblem;

    /// <summary>Whether removing a destination ends its connections (expire_nodest_conn is set).</summary>
    public bool ExpiresConnections { get; private set; }

    /// <summary>Sets what is not set; returns the writes made.</summary>
    public int Ensure(bool verify)
    {
        if (checkedOnce && !verify)
        {
            return 0;
        }
        checkedOnce = true;
        var writes = 0;
        try
        {
            writes += Set(ExpireQuiescentTemplate);
            writes += Set(ExpireNoDestinationConnections);
            ExpiresConnections = true;
            reportedProblem = null;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            ExpiresConnections = sysctl.Read(ExpireNoDestinationConnections) == "1";
            if (error.Message != reportedProblem)
            {
                reportedProblem = error.Message;
                logger.LogWarning("cannot set {Settings} ({Error}): sticky clients may keep reaching a draining endpoint, and health checks that reset connections drain instead. " +
                    "Give the agent write access to the host's /proc/sys/net/ipv4 (--proc-sys), or set them on the node (sysctl -w net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.expire_quiescent_template=1)",
                    "net.ipv4.vs.expire_quiescent_template and net.ipv4.vs.expire_nodest_conn", error.Message);
            }
        }
        return writes;
    }

    private int Set(string key) => SysctlSwitch.TurnOn(sysctl, key, logger);
}
