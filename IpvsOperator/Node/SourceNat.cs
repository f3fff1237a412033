using System.Diagnostics;
using System.Text;
using IpvsOperator.Dataplane;
using IpvsOperator.Ipam;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// The return path of forwarded traffic. An endpoint on another node answers through its own
/// node; unless the connection is source-NATed here, the client gets replies from an address it
/// never spoke to. Done as kube-proxy's IPVS mode does it: IPVS keeps conntrack entries
/// (net.ipv4.vs.conntrack=1) and the forwarded connections are masqueraded.
/// </summary>
public interface ISourceNat
{
    /// <summary>
    /// Makes the kernel masquerade exactly these virtual services' forwarded connections. Returns
    /// the writes made: 0 when the kernel already holds that (a re-sync with nothing to change).
    /// <paramref name="verify"/> re-reads the kernel (periodic re-sync) instead of trusting the last write.
    /// </summary>
    int Apply(IReadOnlySet<VirtualServiceKey> services, bool verify);
}

/// <summary>
/// The nftables table of the agent's own (<c>inet ipvs_operator</c>), written with the nft program
/// as kube-proxy's nftables mode does, and replaced as a whole in one transaction: no moment
/// without the rules, and no other table ever touched.
/// </summary>
public sealed class NftablesSourceNat(ILogger logger, string nft = "nft", string procSys = "/proc/sys") : ISourceNat
{
    public const string Table = "ipvs_operator";
    private HashSet<VirtualServiceKey>? applied;

    public int Apply(IReadOnlySet<VirtualServiceKey> services, bool verify)
    {
        var writes = EnsureIpvsConntrack(verify);
        // Compared as a set: the script is only rendered when it is to be written.
        if (applied is not null && applied.SetEquals(services) && (!verify || TableExists()))
        {
            return writes;
        }
        Run(["-f", "-"], NftablesScript.Render(services));
        applied = [.. services];
        logger.LogInformation("source NAT table {Table} written: {Count} virtual services masqueraded", Table, services.Count);
        return writes + 1;
    }

    /// <summary>IPVS must keep conntrack entries, or its forwarded packets never reach the NAT hooks.</summary>
    private int EnsureIpvsConntrack(bool verify)
    {
        var path = Path.Combine(procSys, "net/ipv4/vs/conntrack");
        if (applied is not null && !verify)
        {
            return 0;
        }
        try
        {
            if (File.ReadAllText(path).Trim() == "1")
            {
                return 0;
            }
            File.WriteAllText(path, "1");
            logger.LogInformation("set net.ipv4.vs.conntrack=1 so that IPVS connections can be source-NATed");
            return 1;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"cannot set net.ipv4.vs.conntrack=1 through {path} ({error.Message}); without it forwarded traffic is not source-NATed. " +
                "Give the agent write access to /proc/sys/net/ipv4/vs, or set the sysctl on the node (sysctl -w net.ipv4.vs.conntrack=1).", error);
        }
    }

    /// <summary>
    /// Whether our table is still there (someone may have flushed the ruleset). Only the table names
    /// are listed: listing the table itself costs seconds at 2,000 VIPs (one chain each).
    /// </summary>
    private bool TableExists() =>
        Run(["list", "tables", "inet"], null).Split('\n').Any(line => line.Trim() == $"table inet {Table}");

    private string Run(string[] arguments, string? input)
    {
        var start = new ProcessStartInfo(nft, arguments)
        {
            RedirectStandardInput = input is not null, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {nft}");
        if (input is not null)
        {
            process.StandardInput.Write(input);
            process.StandardInput.Close();
        }
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{nft} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Trim()}");
        }
        return output.Result;
    }
}

/// <summary>The agent's nftables table as text: a pure function of the services to masquerade.</summary>
public static class NftablesScript
{
    public static string Render(IReadOnlySet<VirtualServiceKey> services)
    {
        // One map per family from the connection's original destination address to a chain of that
        // VIP's ports: an O(1) lookup for the first packet of each connection, whatever the count.
        // (nft cannot concatenate "ct original proto-dst" into a set key, hence the chain per VIP.)
        var byVip = services.GroupBy(s => s.Address).OrderBy(g => g.Key).ToList();
        var text = new StringBuilder();
        text.Append("table inet ").Append(NftablesSourceNat.Table).Append(" {}\n");
        text.Append("delete table inet ").Append(NftablesSourceNat.Table).Append('\n');
        text.Append("table inet ").Append(NftablesSourceNat.Table).Append(" {\n");
        text.Append("\tcomment \"ipvs-operator node agent: source NAT of forwarded load-balancer traffic; rewritten as a whole\"\n");
        foreach (var family in new[] { IPFamily.IPv4, IPFamily.IPv6 })
        {
            var vips = byVip.Where(g => g.Key.Family == family).ToList();
            text.Append("\tmap ").Append(MapName(family)).Append(" {\n\t\ttype ").Append(family == IPFamily.IPv4 ? "ipv4_addr" : "ipv6_addr").Append(" : verdict\n");
            if (vips.Count > 0)
            {
                text.Append("\t\telements = { ").AppendJoin(", ", vips.Select(v => $"{v.Key} : jump {ChainName(v.Key)}")).Append(" }\n");
            }
            text.Append("\t}\n");
        }
        foreach (var vip in byVip)
        {
            text.Append("\tchain ").Append(ChainName(vip.Key)).Append(" {\n");
            foreach (var service in vip.OrderBy(s => s.Protocol).ThenBy(s => s.Port))
            {
                text.Append("\t\tmeta l4proto ").Append(service.Protocol.ToString().ToLowerInvariant())
                    .Append(" ct original proto-dst ").Append(service.Port).Append(" masquerade\n");
            }
            text.Append("\t}\n");
        }
        text.Append("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        text.Append("\t\tct original ip daddr vmap @").Append(MapName(IPFamily.IPv4)).Append('\n');
        text.Append("\t\tct original ip6 daddr vmap @").Append(MapName(IPFamily.IPv6)).Append('\n');
        text.Append("\t}\n}\n");
        return text.ToString();
    }

    private static string MapName(IPFamily family) => family == IPFamily.IPv4 ? "masquerade_ipv4" : "masquerade_ipv6";

    private static string ChainName(IPAddressValue vip) => "vip_" + vip.ToString().Replace('.', '_').Replace(':', '_');
}

/// <summary>The source NAT of the in-memory dataplane (local mode, host tests): remembers what it was asked.</summary>
public sealed class InMemorySourceNat : ISourceNat
{
    public IReadOnlySet<VirtualServiceKey> Masqueraded { get; private set; } = new HashSet<VirtualServiceKey>();

    public int Apply(IReadOnlySet<VirtualServiceKey> services, bool verify)
    {
        if (Masqueraded.SetEquals(services))
        {
            return 0;
        }
        Masqueraded = new HashSet<VirtualServiceKey>(services);
        return 1;
    }
}
