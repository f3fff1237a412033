namespace IpvsOperator.LocalCluster;

/// <summary>How a <see cref="LocalClusterServer"/> listens, how much watch history it keeps, and who it lets in.</summary>
public sealed record LocalClusterOptions
{
    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>
    /// The address to listen on: loopback, unless clients in other network namespaces must reach it
    /// (the kernel VM's layer 2 test runs node agents in namespaces of their own).
    /// </summary>
    public System.Net.IPAddress Listen { get; init; } = System.Net.IPAddress.Loopback;

    /// <summary>Changes kept for watches to resume from; older resume points get 410 Gone.</summary>
    public int HistoryLimit { get; init; } = 10_000;

    /// <summary>How often a watch that asked for bookmarks gets one.</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The administrator's bearer token; null: a random one, made at start.</summary>
    public string? Token { get; init; }

    /// <summary>Addresses besides loopback that clients reach it at (its certificate names them).</summary>
    public IReadOnlyList<System.Net.IPAddress> CertificateAddresses { get; init; } = [];
}
