using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>
/// Per VIP, a digest of everything the nodes' common choice of backend depends on: each consistent
/// virtual service's scheduler, flags and persistence, its destinations in the order the kernel
/// holds them with their weights and forward methods, and whether the node makes entries for
/// flows it never saw (sloppy TCP/SCTP). Two nodes that announce a VIP and publish another digest
/// for it send some moved flows to other backends; the alert IpvsOperatorConsistentHashingDisagreement
/// compares them. The kernel's own mh table size (CONFIG_IP_VS_MH_TAB_INDEX, 4093 slots in Debian's
/// kernel) is assumed alike on every node and is not in it.
/// </summary>
internal static class ConsistentChoiceDigest
{
    /// <summary>The digests of the VIPs that have consistent virtual services (16 hex digits each).</summary>
    public static IReadOnlyDictionary<IPAddressValue, string> Of(DesiredState programmed, bool sloppy) =>
        programmed.ConsistentServices
            .Where(programmed.Services.ContainsKey)
            .GroupBy(k => k.Address)
            .ToDictionary(g => g.Key, g => Digest(g.Order().Select(k => programmed.Services[k]), sloppy));

    /// <summary>The digest as a number a metric can carry exactly (its first 48 bits: a double holds 53).</summary>
    public static double AsNumber(string digest) => BinaryPrimitives.ReadUInt64BigEndian(Convert.FromHexString(digest)) >> 16;

    private static string Digest(IEnumerable<(VirtualService Service, IReadOnlyList<Destination> Destinations)> services, bool sloppy)
    {
        var text = new StringBuilder(sloppy ? "sloppy\n" : "strict\n");
        foreach (var (service, destinations) in services)
        {
            text.Append($"{service.Key.Protocol} {service.Key.Port} {service.Scheduler} {service.SchedulerFlags:x} {service.Persistent} {service.TimeoutSeconds}\n");
            foreach (var destination in MaglevOrder.Canonical(destinations))
            {
                text.Append($"  {destination} {destination.Weight} {destination.Method}\n");
            }
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))[..8]);
    }
}
