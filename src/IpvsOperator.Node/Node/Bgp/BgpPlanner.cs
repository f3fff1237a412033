using IpvsOperator.Readers;
using System.Text;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Entities;
using k8s.Models;

namespace IpvsOperator.Node.Bgp;

/// <summary>
/// This node's BGP plan as a pure function of the cluster: the BGPPeers whose nodeSelector picks the
/// node (their passwords from Secrets in the agents' namespace), and every VIP it may announce over
/// BGP. A VIP is announced when its pool asks for BGP and picks this node, the node serves it
/// (externalTrafficPolicy Cluster: every node, so routers spread it over all of them by ECMP; Local:
/// only nodes with a ready endpoint), and its source NAT works if the VIP needs it.
/// </summary>
internal static class BgpPlanner
{
    /// <summary>The standard label that keeps a node out of external load balancers (as kube-proxy and cloud providers honour it).</summary>
    public const string ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers";

    /// <param name="announced">The VIPs the last completed sync found this node serves (<see cref="ServedServices.Announced"/>).</param>
    public static BgpPlan Plan(string nodeName, V1Node? node, IReadOnlyList<V1Alpha1BGPPeer> peers, IReadOnlyList<V1Secret> secrets,
        IReadOnlyDictionary<IPAddressValue, AnnouncedAddress> announced, bool canSourceNat, string? withdrawn, string secretNamespace = WellKnown.NodeNamespace)
    {
        var labels = node?.Metadata.Labels;
        if (withdrawn is null && labels?.ContainsKey(ExcludeLabel) == true)
        {
            withdrawn = $"the node has the label {ExcludeLabel}";
        }
        var planned = PlanPeers(labels, peers, secrets, secretNamespace);
        var announcements = new List<BgpAnnouncement>();
        foreach (var (vip, address) in announced.OrderBy(a => a.Key))
        {
            var settings = address.Announce;
            if (!settings.Bgp || !BgpPeerReader.Selects(settings.NodeSelector, labels)
                || (address.Eligible is not null && !address.Eligible.Contains(nodeName)) || (address.NeedsSourceNat && !canSourceNat))
            {
                continue;
            }
            // A Local Service's VIP goes only to the nodes with its endpoints: never inside an aggregate that every node announces.
            var local = address.Services.Any(s => s.Spec?.ExternalTrafficPolicy == "Local");
            var aggregate = local ? null : vip.Family == IPFamily.IPv4 ? settings.AggregationLength : settings.AggregationLengthV6;
            announcements.Add(new BgpAnnouncement(vip, settings.Communities, settings.LargeCommunities, settings.LocalPreference, aggregate));
        }
        return new BgpPlan(RouterId(nodeName, node), planned, announcements, withdrawn);
    }

    private static List<PlannedPeer> PlanPeers(IDictionary<string, string>? labels, IReadOnlyList<V1Alpha1BGPPeer> peers, IReadOnlyList<V1Secret> secrets, string secretNamespace)
    {
        var planned = new List<PlannedPeer>();
        uint? localAsn = null;
        string? asnFrom = null;
        foreach (var peer in peers.Where(p => BgpPeerReader.Selects(p.Spec?.NodeSelector, labels)).OrderBy(p => p.Metadata.Name, StringComparer.Ordinal))
        {
            var name = peer.Metadata.Name;
            var (settings, errors) = BgpPeerReader.Read(peer);
            if (settings is null)
            {
                planned.Add(new PlannedPeer(name, null, null, string.Join("; ", errors)));
                continue;
            }
            if (planned.FirstOrDefault(p => p.Address == settings.Address && p.Peering is not null) is { } same)
            {
                planned.Add(new PlannedPeer(name, settings.Address, null, $"BGPPeer {same.Name} already peers with {settings.Address} from this node"));
                continue;
            }
            if (localAsn is { } asn && asn != settings.LocalAsn)
            {
                planned.Add(new PlannedPeer(name, settings.Address, null, $"localASN {settings.LocalAsn} differs from BGPPeer {asnFrom}'s {asn}; a node speaks BGP as one AS"));
                continue;
            }
            string? password = null;
            if (settings.PasswordSecret is { } reference)
            {
                var secret = secrets.FirstOrDefault(s => s.Metadata.Name == reference.Name);
                if (secret?.Data?.TryGetValue(reference.Key, out var bytes) != true)
                {
                    planned.Add(new PlannedPeer(name, settings.Address, null, secret is null
                        ? $"its password Secret {secretNamespace}/{reference.Name} does not exist"
                        : $"its password Secret {secretNamespace}/{reference.Name} has no key '{reference.Key}'"));
                    continue;
                }
                password = Encoding.UTF8.GetString(bytes!).TrimEnd('\n', '\r');
                if (!BgpSyntax.IsPassword(password))
                {
                    planned.Add(new PlannedPeer(name, settings.Address, null,
                        $"the password in Secret {secretNamespace}/{reference.Name} (key '{reference.Key}') is not 1 to {BgpSyntax.MaximumPasswordLength} printable characters without spaces"));
                    continue;
                }
            }
            (localAsn, asnFrom) = (settings.LocalAsn, name);
            planned.Add(new PlannedPeer(name, settings.Address, new BgpPeering(settings.Address, settings.PeerAsn, settings.LocalAsn, settings.Source, settings.Port,
                settings.KeepaliveSeconds, settings.HoldSeconds, settings.EbgpMultihop, password,
                settings.Bfd is { } b ? new BfdSettings(b.TransmitIntervalMs, b.ReceiveIntervalMs, b.DetectMultiplier) : null), null));
        }
        return planned;
    }

    /// <summary>
    /// The node's first IPv4 InternalIP; on a node without one (IPv6 only), 32 bits derived from its
    /// name, since BGP identifiers are IPv4-shaped and need only be unique within the AS.
    /// </summary>
    public static IPAddressValue RouterId(string nodeName, V1Node? node)
    {
        foreach (var address in node?.Status?.Addresses?.Where(a => a.Type == "InternalIP") ?? [])
        {
            if (IPAddressValue.TryParse(address.Address, out var ip) && ip.Family == IPFamily.IPv4)
            {
                return ip;
            }
        }
        var hash = 2166136261u; // FNV-1a: stable across processes, unlike string.GetHashCode
        foreach (var b in Encoding.UTF8.GetBytes(nodeName))
        {
            hash = (hash ^ b) * 16777619u;
        }
        return new IPAddressValue(IPFamily.IPv4, hash | 0x01000000u); // never 0.x.x.x
    }
}
