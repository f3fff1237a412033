using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Neighbours;

/// <summary>Tells the LAN that an address is now reached through a link: gratuitous ARP, unsolicited NA.</summary>
public interface INeighbourAdvertiser
{
    /// <summary>Sends the frames of <see cref="NeighbourFrames.Announce"/> out of the link; returns how many were sent.</summary>
    int Advertise(LinkInfo link, IPAddressValue address);
}
