using IpvsOperator.Dataplane.Probing;

namespace IpvsOperator.Node.Health;

/// <summary>
/// One target's verdict from its probes in a row: down after the unhealthy threshold of failures,
/// up again after the healthy threshold of successes. A new target starts up: Kubernetes calls it
/// ready, and an agent that restarts must not take every endpoint out until it has probed them.
/// </summary>
internal sealed class EndpointHealth(int healthyThreshold, int unhealthyThreshold)
{
    private int successes;
    private int failures;

    public bool IsUp { get; private set; } = true;

    /// <summary>The last failure while down, for the Event and the status.</summary>
    public ProbeResult? LastFailure { get; private set; }

    /// <summary>Counts a result; true when the verdict changed.</summary>
    public bool Record(ProbeResult result)
    {
        if (result.Healthy)
        {
            (successes, failures) = (successes + 1, 0);
            if (!IsUp && successes >= healthyThreshold)
            {
                (IsUp, LastFailure) = (true, null);
                return true;
            }
            return false;
        }
        (failures, successes) = (failures + 1, 0);
        LastFailure = result;
        if (IsUp && failures >= unhealthyThreshold)
        {
            IsUp = false;
            return true;
        }
        return false;
    }
}
