using IpvsOperator.Addressing;
using IpvsOperator.Node.Health;

namespace IpvsOperator.Node;

/// <summary>
/// What a sync found this node serves, for the parts of the agent other than the kernel: the VIPs
/// to announce (layer 2 and BGP), the endpoints to health-check, and what to tell Services in
/// Events. Built from the same view as the <see cref="DesiredState"/>, and handed on by the sync.
/// </summary>
/// <param name="Announced">The VIPs to announce, with who may announce each and the Services on it.</param>
/// <param name="Allocated">
/// Every address an IPAllocation claims, served here or not: such an address on the bind or the
/// announcing interface is ours to remove, and only such an address may be announced.
/// </param>
/// <param name="Probed">The endpoints to health-check, each with the Services (namespace, name) whose check it is.</param>
/// <param name="Warnings">What is wrong with Services that the agent worked around: an Event on each.</param>
public sealed record ServedServices(
    IReadOnlyDictionary<IPAddressValue, AnnouncedAddress> Announced,
    IReadOnlySet<IPAddressValue> Allocated,
    IReadOnlyDictionary<ProbeTarget, IReadOnlyCollection<(string Namespace, string Name)>> Probed,
    IReadOnlyList<ServiceWarning> Warnings)
{
    /// <summary>Before the first sync: nothing served.</summary>
    public static ServedServices Empty { get; } = new(
        new Dictionary<IPAddressValue, AnnouncedAddress>(), new HashSet<IPAddressValue>(), new Dictionary<ProbeTarget, IReadOnlyCollection<(string, string)>>(), []);
}
