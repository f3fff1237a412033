namespace IpvsOperator.Dataplane;

/// <summary>The IPVS schedulers, by the names the kernel knows them (ip_vs_NAME modules).</summary>
internal static class IpvsSchedulers
{
    /// <summary>The schedulers Debian's kernel ships as ip_vs_* modules.</summary>
    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal)
        { "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos" };
}
