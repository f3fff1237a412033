using System.Text;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Nftables;

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
