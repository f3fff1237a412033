using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Neighbours;

namespace IpvsOperator.Dataplane.InMemory;

/// <summary>Records the announcements instead of sending them: local mode and host tests.</summary>
public sealed class InMemoryNeighbourAdvertiser : INeighbourAdvertiser
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Link, IPAddressValue Address)> sent = new();

    public IReadOnlyList<(string Link, IPAddressValue Address)> Sent => [.. sent];

    public int Advertise(LinkInfo link, IPAddressValue address)
    {
        if (link.HardwareAddress is null)
        {
            throw new InvalidOperationException($"{link.Name} has no Ethernet address to announce {address} with");
        }
        sent.Enqueue((link.Name, address));
        return NeighbourFrames.Announce(address, link.HardwareAddress).Count;
    }
}
