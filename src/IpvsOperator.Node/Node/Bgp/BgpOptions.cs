using IpvsOperator.Entities;

namespace IpvsOperator.Node.Bgp;

/// <summary>How the agent drives its BGP speaker.</summary>
public sealed record BgpOptions
{
    /// <summary>How often the sessions are read from the speaker (state, prefixes, updates) for the status, metrics and Events.</summary>
    public TimeSpan SessionPoll { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often while a configured session is down: FRR shows why a session failed only until
    /// something else resets it (with BFD, for under a second), so it is looked at more often.
    /// </summary>
    public TimeSpan DownSessionPoll { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the speaker's running configuration is checked against the one applied (repairing an FRR restarted or changed by hand).</summary>
    public TimeSpan VerifyPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the BGPPeers' password Secrets are: the agents' own namespace, the only one where they may read Secrets.</summary>
    public string SecretNamespace { get; init; } = WellKnown.NodeNamespace;
}
