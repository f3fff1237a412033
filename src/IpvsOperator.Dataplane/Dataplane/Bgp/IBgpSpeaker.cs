namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// The routing daemon that speaks BGP for this node (FRR beside the agent; in local mode and host
/// tests an in-memory twin). It is given whole configurations (<see cref="FrrConfiguration"/>) and
/// changes only what differs.
/// </summary>
public interface IBgpSpeaker
{
    /// <summary>
    /// Makes the daemon hold <paramref name="configuration"/>. False when it already held it (this
    /// text was applied last and the daemon's running configuration has not moved since): nothing was
    /// written.
    /// </summary>
    bool Apply(string configuration);

    /// <summary>The daemon's sessions as it reports them now, one per configured neighbor.</summary>
    IReadOnlyList<BgpSessionState> ReadSessions();
}
