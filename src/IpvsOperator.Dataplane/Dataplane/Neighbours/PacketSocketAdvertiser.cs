using System.Runtime.InteropServices;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Neighbours;

/// <summary>
/// Sends neighbour announcements through an AF_PACKET raw socket (CAP_NET_RAW), built frame by
/// frame in managed code: no arping, no libpcap. The socket only sends (protocol 0 receives nothing)
/// and stays bound to the network namespace it was opened in. It is opened on the first
/// announcement, so a node agent that announces nothing (<c>--announce=none</c>) needs no CAP_NET_RAW.
/// </summary>
public sealed partial class PacketSocketAdvertiser : INeighbourAdvertiser, IDisposable
{
    private const int AfPacket = 17;
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;
    private readonly Lock gate = new();
    private int fd = -1;

    /// <summary>Opens the socket now, in the calling thread's network namespace (see NetworkNamespaces.Inside).</summary>
    public PacketSocketAdvertiser Open()
    {
        lock (gate)
        {
            if (fd < 0)
            {
                fd = socket(AfPacket, SockRaw | SockCloexec, 0);
                if (fd < 0)
                {
                    throw new PacketSocketException(Marshal.GetLastPInvokeError(), "socket(AF_PACKET, SOCK_RAW)", "sending gratuitous ARP needs CAP_NET_RAW");
                }
            }
            return this;
        }
    }

    public int Advertise(LinkInfo link, IPAddressValue address)
    {
        var mac = link.HardwareAddress ?? throw new InvalidOperationException($"{link.Name} has no Ethernet address to announce {address} with");
        var sent = 0;
        foreach (var frame in NeighbourFrames.Announce(address, mac))
        {
            var destination = new SockaddrLl
            {
                Family = AfPacket,
                Protocol = (ushort)System.Net.IPAddress.HostToNetworkOrder((short)(address.Family == IPFamily.IPv4 ? NeighbourFrames.EtherTypeArp : NeighbourFrames.EtherTypeIPv6)),
                InterfaceIndex = link.Index,
                HardwareAddressLength = 6,
            };
            frame.AsSpan(0, 6).CopyTo(destination.HardwareAddress);
            Open();
            lock (gate)
            {
                if (sendto(fd, frame, frame.Length, 0, ref destination, Marshal.SizeOf<SockaddrLl>()) < 0)
                {
                    throw new PacketSocketException(Marshal.GetLastPInvokeError(), $"send the announcement of {address} on {link.Name}");
                }
            }
            sent++;
        }
        return sent;
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (fd >= 0)
            {
                close(fd);
                fd = -1;
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrLl
    {
        public ushort Family;
        public ushort Protocol;
        public int InterfaceIndex;
        public ushort HardwareType;
        public byte PacketType;
        public byte HardwareAddressLength;
        public HardwareAddressBytes HardwareAddress;
    }

    [System.Runtime.CompilerServices.InlineArray(8)]
    private struct HardwareAddressBytes
    {
        private byte first;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendto(int fd, byte[] buffer, nint length, int flags, ref SockaddrLl address, int addressLength);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
