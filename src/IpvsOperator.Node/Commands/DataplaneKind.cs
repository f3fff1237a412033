namespace IpvsOperator.Commands;

/// <summary>What the node agent programs.</summary>
public enum DataplaneKind
{
    /// <summary>Netlink (addresses), IPVS over generic netlink, nftables: a real node.</summary>
    Kernel,

    /// <summary>In-memory twins of the kernel: local mode and tests.</summary>
    Memory,
}
