using Microsoft.Extensions.Logging;

namespace IpvsOperator.Dataplane.Nftables;

/// <summary>
/// The nftables table of the agent's own (<c>inet ipvs_operator</c>), written with the nft program
/// as kube-proxy's nftables mode does, and replaced as a whole in one transaction: no moment
/// without the rules, and no other table ever touched.
/// </summary>
public sealed class NftablesNetfilter(ISysctl sysctl, ILogger logger, string nft = "nft", TimeSpan? timeout = null) : INetfilter
{
    public const string Table = "ipvs_operator";

    /// <summary>How long one nft run may take (a table of 2,000 VIPs takes seconds under emulation); then it is killed and the sync fails, to be retried.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private readonly TimeSpan runTimeout = timeout ?? DefaultTimeout;
    private const string IpvsConntrack = "net/ipv4/vs/conntrack";
    private NetfilterRules? applied;

    public int Apply(NetfilterRules rules, bool verify)
    {
        var writes = EnsureIpvsConntrack(verify);
        // Compared as sets: the script is only rendered when it is to be written.
        if (rules.SameAs(applied) && (!verify || TableExists()))
        {
            return writes;
        }
        Run(["-f", "-"], NftablesScript.Render(rules));
        applied = new NetfilterRules(rules.Masquerade.ToHashSet(), rules.Served.ToHashSet());
        logger.LogInformation("netfilter table {Table} written: {Masqueraded} virtual services masqueraded, {Served} served ports let through on the VIPs",
            Table, rules.Masquerade.Count, rules.Served.Count);
        return writes + 1;
    }

    /// <summary>IPVS must keep conntrack entries, or its forwarded packets never reach the NAT hooks.</summary>
    private int EnsureIpvsConntrack(bool verify)
    {
        if (applied is not null && !verify)
        {
            return 0;
        }
        try
        {
            if (sysctl.Read(IpvsConntrack) == "1")
            {
                return 0;
            }
            sysctl.Write(IpvsConntrack, "1");
            logger.LogInformation("set net.ipv4.vs.conntrack=1 so that IPVS connections can be source-NATed");
            return 1;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"cannot set net.ipv4.vs.conntrack=1 ({error.Message}); without it forwarded traffic is not source-NATed. " +
                "Give the agent write access to the host's /proc/sys/net/ipv4 (--proc-sys), or set the sysctl on the node (sysctl -w net.ipv4.vs.conntrack=1).", error);
        }
    }

    /// <summary>
    /// Whether our table is still there (someone may have flushed the ruleset). Only the table names
    /// are listed: listing the table itself costs seconds at 2,000 VIPs (one chain each).
    /// </summary>
    private bool TableExists() =>
        Run(["list", "tables", "inet"], null).Split('\n').Any(line => line.Trim() == $"table inet {Table}");

    private string Run(string[] arguments, string? input) => ExternalProgram.Run(nft, arguments, input, runTimeout);
}
