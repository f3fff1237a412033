using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using IpvsOperator.Addressing;

namespace IpvsOperator.Node.Announcement;

/// <summary>
/// Which node should announce an address: rendezvous (highest random weight) hashing over the
/// live candidates. Every node computes the same answer from the same candidates; the addresses
/// spread evenly; when a node leaves, only its own addresses move, and they spread over the rest.
/// </summary>
internal static class Rendezvous
{
    public static string? Preferred(IPAddressValue address, IEnumerable<string> candidates) =>
        Preferred(address, candidates, Weight);

    /// <summary>As above, with the weights from <paramref name="weight"/> (a cache: they never change).</summary>
    public static string? Preferred(IPAddressValue address, IEnumerable<string> candidates, Func<IPAddressValue, string, ulong> weight) =>
        candidates.MaxBy(node => (weight(address, node), node), Comparer<(ulong, string)>.Create((a, b) =>
            a.Item1 != b.Item1 ? a.Item1.CompareTo(b.Item1) : string.CompareOrdinal(a.Item2, b.Item2)));

    public static ulong Weight(IPAddressValue address, string node) =>
        BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"{address}|{node}")));
}
