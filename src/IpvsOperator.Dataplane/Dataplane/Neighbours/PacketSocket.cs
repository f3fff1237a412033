using System.Runtime.InteropServices;

namespace IpvsOperator.Dataplane.Neighbours;

/// <summary>
/// An AF_PACKET raw socket (CAP_NET_RAW): whole Ethernet frames out of one interface, and in, when
/// opened for an EtherType and bound to the interface. Stays in the network namespace it was opened in.
/// </summary>
internal sealed partial class PacketSocket : IDisposable
{
    private const int AfPacket = 17;
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;
    private const short PollIn = 1;
    private const int MessageDontWait = 0x40;
    private readonly Lock gate = new();
    private int fd;

    private PacketSocket(int fd) => this.fd = fd;

    /// <summary>A socket that only sends (protocol 0 receives nothing).</summary>
    public static PacketSocket ForSending() => Open(0, "sending neighbour announcements needs CAP_NET_RAW");

    /// <summary>A socket that receives the frames of <paramref name="etherType"/> arriving on interface <paramref name="interfaceIndex"/>.</summary>
    public static PacketSocket Receiving(ushort etherType, int interfaceIndex)
    {
        var socket = Open(etherType, "probing neighbours needs CAP_NET_RAW");
        var address = Address(etherType, interfaceIndex, []);
        if (bind(socket.fd, ref address, Marshal.SizeOf<SockaddrLl>()) < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            socket.Dispose();
            throw new PacketSocketException(error, $"bind(AF_PACKET) to interface {interfaceIndex}");
        }
        return socket;
    }

    private static PacketSocket Open(ushort etherType, string hint)
    {
        var fd = socket(AfPacket, SockRaw | SockCloexec, System.Net.IPAddress.HostToNetworkOrder((short)etherType) & 0xFFFF);
        return fd < 0 ? throw new PacketSocketException(Marshal.GetLastPInvokeError(), "socket(AF_PACKET, SOCK_RAW)", hint) : new PacketSocket(fd);
    }

    /// <summary>Sends one frame out of the interface, to the frame's own destination address.</summary>
    public void Send(byte[] frame, ushort etherType, int interfaceIndex, string what)
    {
        var destination = Address(etherType, interfaceIndex, frame.AsSpan(0, 6));
        lock (gate)
        {
            if (sendto(fd, frame, frame.Length, 0, ref destination, Marshal.SizeOf<SockaddrLl>()) < 0)
            {
                throw new PacketSocketException(Marshal.GetLastPInvokeError(), what);
            }
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for a frame and copies it into <paramref name="buffer"/>; returns its length, 0 when none came.</summary>
    public int Receive(byte[] buffer, TimeSpan timeout)
    {
        var poll = new PollFd { Fd = fd, Events = PollIn };
        var ready = Poll(ref poll, 1, (int)Math.Clamp(Math.Ceiling(timeout.TotalMilliseconds), 0, int.MaxValue));
        if (ready < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            return error == 4 ? 0 : throw new PacketSocketException(error, "poll(AF_PACKET)"); // EINTR: the caller's loop asks again
        }
        if (ready == 0)
        {
            return 0;
        }
        var length = recv(fd, buffer, buffer.Length, MessageDontWait);
        if (length < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            return error is 11 or 4 ? 0 : throw new PacketSocketException(error, "recv(AF_PACKET)"); // EAGAIN, EINTR
        }
        return (int)length;
    }

    private static SockaddrLl Address(ushort etherType, int interfaceIndex, ReadOnlySpan<byte> hardwareAddress)
    {
        var address = new SockaddrLl
        {
            Family = AfPacket,
            Protocol = (ushort)System.Net.IPAddress.HostToNetworkOrder((short)etherType),
            InterfaceIndex = interfaceIndex,
            HardwareAddressLength = (byte)hardwareAddress.Length,
        };
        hardwareAddress.CopyTo(address.HardwareAddress);
        return address;
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

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, ref SockaddrLl address, int addressLength);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint sendto(int fd, byte[] buffer, nint length, int flags, ref SockaddrLl address, int addressLength);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeoutMilliseconds);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
