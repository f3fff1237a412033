using System.Runtime.InteropServices;

namespace IpvsOperator.Dataplane.Netlink;

/// <summary>
/// A netlink socket opened with P/Invoke (the managed Socket refuses AF_NETLINK): requests with
/// sequence numbers, replies matched to them, multi-part dumps read to NLMSG_DONE, NLMSG_ERROR
/// turned into <see cref="NetlinkException"/>, and a receive timeout so a silent kernel never hangs
/// a sync loop. One request at a time per socket (a lock serialises callers).
/// </summary>
public sealed partial class NetlinkSocket : IDisposable
{
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;
    private const int SolSocket = 1;
    private const int SoRcvbuf = 8;
    private const int SoRcvtimeo = 20;
    private const int ReceiveBuffer = 1 << 20;

    private readonly Lock gate = new();

    // One receive buffer per socket, used under the lock: allocating it per request cost 1 MiB a call.
    private readonly byte[] buffer = new byte[ReceiveBuffer];
    private readonly int fd;
    private uint sequence;

    public NetlinkSocket(int protocol, TimeSpan? timeout = null)
    {
        fd = socket(NetlinkConstants.AfNetlink, SockRaw | SockCloexec, protocol);
        if (fd < 0)
        {
            throw new NetlinkException(Marshal.GetLastPInvokeError(), $"socket(AF_NETLINK, {protocol})");
        }
        var address = new SockaddrNl { Family = NetlinkConstants.AfNetlink };
        if (bind(fd, ref address, Marshal.SizeOf<SockaddrNl>()) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            close(fd);
            throw new NetlinkException(errno, $"bind(AF_NETLINK, {protocol})");
        }
        var size = ReceiveBuffer;
        setsockopt(fd, SolSocket, SoRcvbuf, ref size, sizeof(int));
        var wait = timeout ?? TimeSpan.FromSeconds(5);
        var tv = new Timeval { Seconds = (long)wait.TotalSeconds, Microseconds = wait.Milliseconds * 1000L };
        setsockopt(fd, SolSocket, SoRcvtimeo, ref tv, Marshal.SizeOf<Timeval>());
        sequence = (uint)Environment.TickCount;
    }

    /// <summary>Sends a request and returns the reply messages (all parts of a dump); throws on NLMSG_ERROR.</summary>
    public List<NetlinkMessage> Request(ushort type, ushort flags, ReadOnlyMemory<byte> payload, string description)
    {
        lock (gate)
        {
            var seq = ++sequence;
            var bytes = new NetlinkMessage(type, (ushort)(flags | NetlinkConstants.NlmFRequest), seq, 0, payload).Encode();
            if (send(fd, bytes, bytes.Length, 0) < 0)
            {
                throw new NetlinkException(Marshal.GetLastPInvokeError(), description);
            }
            var replies = new List<NetlinkMessage>();
            var dump = (flags & NetlinkConstants.NlmFDump) == NetlinkConstants.NlmFDump;
            while (true)
            {
                var received = recv(fd, buffer, buffer.Length, 0);
                if (received < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw new NetlinkException(errno, description, errno == 11 ? "no reply from the kernel within the timeout" : null);
                }
                // Copied out: the messages of a dump outlive this buffer, which the next recv overwrites.
                foreach (var message in NetlinkMessage.DecodeAll(buffer.AsSpan(0, received).ToArray()))
                {
                    if (message.Sequence != seq)
                    {
                        continue; // a late reply to an earlier, timed-out request
                    }
                    if (message.Type == NetlinkConstants.NlmsgError)
                    {
                        if (message.ErrorNumber != 0)
                        {
                            throw new NetlinkException(message.ErrorNumber, description);
                        }
                        return replies; // the ACK
                    }
                    if (message.Type == NetlinkConstants.NlmsgDone)
                    {
                        return replies;
                    }
                    replies.Add(message);
                    if (!dump && (message.Flags & NetlinkConstants.NlmFMulti) == 0 && (flags & NetlinkConstants.NlmFAck) == 0)
                    {
                        return replies;
                    }
                }
            }
        }
    }

    /// <summary>Bytes of requests sent in one datagram: well inside the socket's default send buffer (about 208 KiB).</summary>
    private const int BatchBytes = 32 * 1024;

    /// <summary>
    /// Sends requests that need only an acknowledgement several to a datagram, instead of one round
    /// trip each. The kernel handles the messages of a datagram in order, answers a refused one with
    /// its error whether or not it asked for an acknowledgement, and goes on with the next; so only
    /// the datagram's last request asks for one, and its answer says the kernel is through with the
    /// datagram (a success it does not answer costs it no reply to build, and us none to read).
    /// Errors are matched by sequence number. Returns the refusals by index; an empty list when the
    /// kernel took them all.
    /// </summary>
    public List<(int Index, DataplaneException Error)> RequestAll(ushort type, IReadOnlyList<(ReadOnlyMemory<byte> Payload, string Description)> requests)
    {
        var refused = new List<(int, DataplaneException)>();
        lock (gate)
        {
            var next = 0;
            while (next < requests.Count)
            {
                var first = sequence; // request next + i goes with sequence number first + 1 + i
                var datagram = new List<byte>(BatchBytes + 1024);
                var count = 0;
                var size = 0;
                while (next + count < requests.Count && (count == 0 || size + requests[next + count].Payload.Length + 16 <= BatchBytes))
                {
                    size += requests[next + count].Payload.Length + 16;
                    count++;
                }
                for (var i = 0; i < count; i++)
                {
                    var last = i == count - 1;
                    var flags = (ushort)(NetlinkConstants.NlmFRequest | (last ? NetlinkConstants.NlmFAck : 0));
                    datagram.AddRange(new NetlinkMessage(type, flags, unchecked(first + 1 + (uint)i), 0, requests[next + i].Payload).Encode());
                }
                sequence = unchecked(first + (uint)count);
                var bytes = datagram.ToArray();
                if (send(fd, bytes, bytes.Length, 0) < 0)
                {
                    throw new NetlinkException(Marshal.GetLastPInvokeError(), requests[next].Description);
                }
                var through = false;
                while (!through)
                {
                    var received = recv(fd, buffer, buffer.Length, 0);
                    if (received < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        throw new NetlinkException(errno, requests[next + count - 1].Description, errno == 11 ? "no reply from the kernel within the timeout" : null);
                    }
                    foreach (var message in NetlinkMessage.DecodeAll(buffer.AsSpan(0, received).ToArray()))
                    {
                        var index = unchecked(message.Sequence - first - 1);
                        if (message.Type != NetlinkConstants.NlmsgError || index >= (uint)count)
                        {
                            continue; // a late reply to an earlier, timed-out request
                        }
                        through |= index == (uint)(count - 1);
                        if (message.ErrorNumber != 0)
                        {
                            refused.Add(((int)(next + index), new NetlinkException(message.ErrorNumber, requests[next + (int)index].Description)));
                        }
                    }
                }
                next += count;
            }
        }
        return refused;
    }

    public void Dispose() => close(fd);

    [StructLayout(LayoutKind.Sequential)]
    private struct SockaddrNl
    {
        public ushort Family;
        public ushort Pad;
        public uint Pid;
        public uint Groups;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval
    {
        public long Seconds;
        public long Microseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, ref SockaddrNl address, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, ref int value, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int name, ref Timeval value, int length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int recv(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
