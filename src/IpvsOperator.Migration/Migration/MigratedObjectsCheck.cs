using IpvsOperator.Addressing;
using IpvsOperator.AllocationReaders;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Readers;
using k8s;

namespace IpvsOperator.Migration;

/// <summary>
/// The checks the webhooks make on IPPools and BGPPeers (the same readers: <see cref="PoolReader"/>,
/// <see cref="PoolAnnouncementReader"/>, <see cref="BgpPeerReader"/>), made on the translation
/// before anything is written: an object the cluster would refuse is not emitted. What the webhooks
/// check against the cluster (allocated addresses, the nodes two peers share) is checked among the
/// translated objects only.
/// </summary>
internal static class MigratedObjectsCheck
{
    /// <summary>Every refusal, each naming the object, the MetalLB object it came from and what is wrong.</summary>
    public static IReadOnlyList<string> Refusals(MigrationResult result)
    {
        var refusals = new List<string>();
        string From(string kind, string name) => result.Sources.TryGetValue($"{kind}/{name}", out var where) ? $" (from {where})" : string.Empty;

        var parsed = new List<Pool>();
        foreach (var pool in result.Pools)
        {
            var name = pool.Metadata.Name;
            var read = PoolReader.Read(pool);
            var errors = read.Errors.Concat(PoolAnnouncementReader.Read(pool).Errors).ToList();
            if (pool.Spec.Addresses.Count > IPPoolSpec.MaxAddresses)
            {
                errors.Add($"spec.addresses holds {pool.Spec.Addresses.Count} entries; an IPPool holds at most {IPPoolSpec.MaxAddresses}");
            }
            if (errors.Count > 0)
            {
                refusals.Add($"IPPool {name}{From(V1Alpha1IPPool.KindName, name)}: {string.Join("; ", errors)}");
            }
            else
            {
                parsed.Add(read.Pool!);
            }
        }
        for (var i = 0; i < parsed.Count; i++)
        {
            var overlaps = PoolOverlaps.Between(parsed[i], parsed.Take(i));
            if (overlaps.Any)
            {
                refusals.Add($"IPPool {parsed[i].Name}{From(V1Alpha1IPPool.KindName, parsed[i].Name)}: {overlaps}; pools may not share addresses");
            }
        }

        var peers = new List<(V1Alpha1BGPPeer Peer, Readers.BgpPeerSettings Settings)>();
        foreach (var peer in result.Peers)
        {
            var name = peer.Metadata.Name;
            var (settings, errors) = BgpPeerReader.Read(peer);
            if (settings is null)
            {
                refusals.Add($"BGPPeer {name}{From(V1Alpha1BGPPeer.KindName, name)}: {string.Join("; ", errors)}");
                continue;
            }
            foreach (var (other, otherSettings) in peers.Where(p => ShareNodes(p.Peer, peer)))
            {
                if (otherSettings.Address == settings.Address)
                {
                    refusals.Add($"BGPPeer {name}{From(V1Alpha1BGPPeer.KindName, name)}: BGPPeer {other.Metadata.Name} peers with {settings.Address} from the same nodes; a node has one session per address");
                }
                else if (otherSettings.LocalAsn != settings.LocalAsn)
                {
                    refusals.Add($"BGPPeer {name}{From(V1Alpha1BGPPeer.KindName, name)}: localASN {settings.LocalAsn} differs from BGPPeer {other.Metadata.Name}'s {otherSettings.LocalAsn} on the same nodes; a node speaks BGP as one AS");
                }
            }
            peers.Add((peer, settings));
        }

        foreach (var secret in result.Secrets)
        {
            if (secret.Data is { } data && data.TryGetValue("password", out var bytes) && !BgpSyntax.IsPassword(System.Text.Encoding.UTF8.GetString(bytes)))
            {
                refusals.Add($"Secret {secret.Metadata.NamespaceProperty}/{secret.Metadata.Name}{From("Secret", secret.Metadata.Name)}: the password is not printable ASCII without spaces of 1 to {BgpSyntax.MaximumPasswordLength} characters, which the node agents refuse");
            }
        }
        return refusals;
    }

    /// <summary>Whether two peers surely select a node in common: one selects every node, or both select the same ones.</summary>
    private static bool ShareNodes(V1Alpha1BGPPeer first, V1Alpha1BGPPeer second) =>
        first.Spec.NodeSelector is null || second.Spec.NodeSelector is null
        || KubernetesJson.Serialize(first.Spec.NodeSelector) == KubernetesJson.Serialize(second.Spec.NodeSelector);
}
