using System.Text;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Nftables;

/// <summary>The agent's nftables table as text: a pure function of the services to masquerade.</summary>
internal static class NftablesScript
{
    public static string Render(NetfilterRules rules)
    {
        // One map per family from the connection's original destination address to a chain of that
        // VIP's ports: an O(1) lookup for the first packet of each connection, whatever the count.
        // (nft cannot concatenate "ct original proto-dst" into a set key, hence the chain per VIP.)
        var byVip = rules.Masquerade.GroupBy(s => s.Address).OrderBy(g => g.Key).ToList();
        var text = new StringBuilder();
        text.Append("table inet ").Append(NftablesNetfilter.Table).Append(" {}\n");
        text.Append("delete table inet ").Append(NftablesNetfilter.Table).Append('\n');
        text.Append("table inet ").Append(NftablesNetfilter.Table).Append(" {\n");
        text.Append("\tcomment \"ipvs-operator node agent: source NAT of forwarded load-balancer traffic and the VIPs' ports; rewritten as a whole\"\n");
        foreach (var family in new[] { IPFamily.IPv4, IPFamily.IPv6 })
        {
            var vips = byVip.Where(g => g.Key.Family == family).ToList();
            text.Append("\tmap ").Append(MapName(family)).Append(" {\n\t\ttype ").Append(AddressType(family)).Append(" : verdict\n");
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
                text.Append("\t\tmeta l4proto ").Append(Protocol(service)).Append(" ct original proto-dst ").Append(service.Port).Append(" masquerade\n");
            }
            text.Append("\t}\n");
        }
        text.Append("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
        text.Append("\t\tct original ip daddr vmap @").Append(MapName(IPFamily.IPv4)).Append('\n');
        text.Append("\t\tct original ip6 daddr vmap @").Append(MapName(IPFamily.IPv6)).Append('\n');
        text.Append("\t}\n");
        AppendPortFilter(text, rules.Served);
        text.Append("}\n");
        return text.ToString();
    }

    /// <summary>
    /// On a VIP, TCP, UDP and SCTP get through only to the ports of the Services that hold it; the
    /// rest is dropped before it reaches a socket of the host (sshd, the kubelet, the agent itself).
    /// ICMP stays open: path MTU discovery and IPv6 neighbour discovery need it. The filter runs at
    /// the input hook at filter priority, before IPVS takes the packets it serves.
    /// </summary>
    private static void AppendPortFilter(StringBuilder text, IReadOnlySet<VirtualServiceKey> served)
    {
        foreach (var family in new[] { IPFamily.IPv4, IPFamily.IPv6 })
        {
            var ports = served.Where(s => s.Address.Family == family).Order().ToList();
            var type = AddressType(family);
            text.Append("\tset ").Append(VipSet(family)).Append(" {\n\t\ttype ").Append(type).Append('\n');
            if (ports.Count > 0)
            {
                text.Append("\t\telements = { ").AppendJoin(", ", ports.Select(p => p.Address).Distinct()).Append(" }\n");
            }
            text.Append("\t}\n\tset ").Append(ServedSet(family)).Append(" {\n\t\ttype ").Append(type).Append(" . inet_proto . inet_service\n");
            if (ports.Count > 0)
            {
                text.Append("\t\telements = { ").AppendJoin(", ", ports.Select(p => $"{p.Address} . {Protocol(p)} . {p.Port}")).Append(" }\n");
            }
            text.Append("\t}\n");
        }
        text.Append("\tchain filter_vip_ports {\n\t\ttype filter hook input priority filter; policy accept;\n");
        foreach (var (family, address) in new[] { (IPFamily.IPv4, "ip daddr"), (IPFamily.IPv6, "ip6 daddr") })
        {
            text.Append("\t\t").Append(address).Append(" @").Append(VipSet(family)).Append(" meta l4proto { tcp, udp, sctp } ")
                .Append(address).Append(" . meta l4proto . th dport != @").Append(ServedSet(family)).Append(" drop\n");
        }
        text.Append("\t}\n");
    }

    private static string AddressType(IPFamily family) => family == IPFamily.IPv4 ? "ipv4_addr" : "ipv6_addr";

    private static string Protocol(VirtualServiceKey service) => service.Protocol.ToString().ToLowerInvariant();

    private static string VipSet(IPFamily family) => family == IPFamily.IPv4 ? "vips_ipv4" : "vips_ipv6";

    private static string ServedSet(IPFamily family) => family == IPFamily.IPv4 ? "served_ipv4" : "served_ipv6";

    private static string MapName(IPFamily family) => family == IPFamily.IPv4 ? "masquerade_ipv4" : "masquerade_ipv6";

    private static string ChainName(IPAddressValue vip) => "vip_" + vip.ToString().Replace('.', '_').Replace(':', '_');
}
