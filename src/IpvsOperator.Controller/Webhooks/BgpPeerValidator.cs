using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Rbac;
using IpvsOperator.Runtime.Webhooks;
using k8s.Models;

namespace IpvsOperator.Webhooks;

/// <summary>
/// BGPPeers that FRR could not hold are refused: an address, ASN, time or BFD setting out of range
/// (<see cref="BgpPeerReader"/>), and a peer that would give a node a second local ASN or a second
/// session to the same address (naming the node and the other BGPPeer). Whether the password Secret
/// exists is left to the agents, which report it per session: the controller may read no Secret.
/// </summary>
[ValidatingWebhook("bgppeers.ipvsoperator.io", "/validate-bgppeer", Groups = [WellKnown.Group], Versions = [WellKnown.Version],
    Resources = ["bgppeers"])]
[EntityRbac(typeof(V1Alpha1BGPPeer), typeof(V1Node), Verbs = RbacVerb.List)]
internal sealed class BgpPeerValidator(EntityClient<V1Alpha1BGPPeer> peers, EntityClient<V1Node> nodes) : ValidationWebhook<V1Alpha1BGPPeer>
{
    protected override Task<AdmissionVerdict> CreateAsync(V1Alpha1BGPPeer entity, CancellationToken cancellationToken) =>
        CheckAsync(entity, cancellationToken);

    protected override Task<AdmissionVerdict> UpdateAsync(V1Alpha1BGPPeer oldEntity, V1Alpha1BGPPeer newEntity, CancellationToken cancellationToken) =>
        CheckAsync(newEntity, cancellationToken);

    private async Task<AdmissionVerdict> CheckAsync(V1Alpha1BGPPeer peer, CancellationToken cancellationToken)
    {
        var name = peer.Metadata.Name;
        var (settings, errors) = BgpPeerReader.Read(peer);
        if (settings is null)
        {
            return AdmissionVerdict.Deny($"BGPPeer {name}: {string.Join("; ", errors)}");
        }
        var others = (await peers.ListAllAsync(cancellationToken: cancellationToken)).Items
            .Where(p => p.Metadata.Name != name)
            .Select(p => (Object: p, Settings: BgpPeerReader.Read(p).Peer))
            .Where(p => p.Settings is not null
                && (p.Settings.LocalAsn != settings.LocalAsn || p.Settings.Address == settings.Address))
            .ToList();
        if (others.Count == 0)
        {
            return AdmissionVerdict.Allow;
        }
        foreach (var node in (await nodes.ListAllAsync(cancellationToken: cancellationToken)).Items.Where(n => BgpPeerReader.Selects(peer.Spec.NodeSelector, n.Metadata.Labels)))
        {
            foreach (var (other, otherSettings) in others.Where(o => BgpPeerReader.Selects(o.Object.Spec.NodeSelector, node.Metadata.Labels)))
            {
                return otherSettings!.Address == settings.Address
                    ? AdmissionVerdict.Deny($"BGPPeer {name}: node {node.Metadata.Name} already peers with {settings.Address} through BGPPeer {other.Metadata.Name}; a node has one session per address")
                    : AdmissionVerdict.Deny($"BGPPeer {name}: localASN {settings.LocalAsn} differs from BGPPeer {other.Metadata.Name}'s {otherSettings.LocalAsn}, and both select node {node.Metadata.Name}; a node speaks BGP as one AS (narrow a nodeSelector or use the same localASN)");
            }
        }
        return AdmissionVerdict.Allow;
    }
}
