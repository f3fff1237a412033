using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Neighbours;

/// <summary>
/// Sends neighbour announcements through an AF_PACKET raw socket (CAP_NET_RAW), built frame by
/// frame in managed code: no arping, no libpcap. The socket only sends and stays bound to the
/// network namespace it was opened in. It is opened on the first announcement, so a node agent that
/// announces nothing (<c>--announce=none</c>) needs no CAP_NET_RAW.
/// </summary>
public sealed class PacketSocketAdvertiser : INeighbourAdvertiser, IDisposable
{
    private readonly Lock gate = new();
    private PacketSocket? socket;

    /// <summary>Opens the socket now, in the calling thread's network namespace (see NetworkNamespaces.Inside).</summary>
    public PacketSocketAdvertiser Open()
    {
        lock (gate)
        {
            socket ??= PacketSocket.ForSending();
            return this;
        }
    }

    public int Advertise(LinkInfo link, IPAddressValue address)
    {
        var mac = link.HardwareAddress ?? throw new InvalidOperationException($"{link.Name} has no Ethernet address to announce {address} with");
        var etherType = address.Family == IPFamily.IPv4 ? NeighbourFrames.EtherTypeArp : NeighbourFrames.EtherTypeIPv6;
        var sent = 0;
        foreach (var frame in NeighbourFrames.Announce(address, mac))
        {
            Open();
            socket!.Send(frame, etherType, link.Index, $"send the announcement of {address} on {link.Name}");
            sent++;
        }
        return sent;
    }

    public void Dispose()
    {
        lock (gate)
        {
            socket?.Dispose();
            socket = null;
        }
    }
}
