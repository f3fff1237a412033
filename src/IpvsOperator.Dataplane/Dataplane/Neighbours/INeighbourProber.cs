using System.Net.NetworkInformation;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Neighbours;

/// <summary>
/// Asks the LAN, before this node claims addresses, whether another device answers for them: ARP
/// probes and duplicate-address neighbour solicitations (<see cref="NeighbourFrames.Probe"/>).
/// </summary>
public interface INeighbourProber
{
    /// <summary>
    /// Probes every address at once out of <paramref name="link"/> and listens for
    /// <paramref name="window"/>; returns the addresses another device answered for, each with that
    /// device's hardware address. Throws a <see cref="DataplaneException"/> when it cannot probe.
    /// </summary>
    Task<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>> ProbeAsync(LinkInfo link, IReadOnlyCollection<IPAddressValue> addresses, TimeSpan window, CancellationToken cancellationToken);
}
