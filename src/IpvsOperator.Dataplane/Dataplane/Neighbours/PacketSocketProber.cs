using System.Diagnostics;
using System.Net.NetworkInformation;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Neighbours;

/// <summary>
/// Probes addresses through AF_PACKET raw sockets (CAP_NET_RAW): one per family asked about, bound
/// to the link and its EtherType for the probe's window only, so nothing is received between probes.
/// Each probe goes out twice, at the start and halfway through the window (one frame may be lost).
/// </summary>
/// <param name="networkNamespace">The network namespace to probe in (a path such as /var/run/netns/NAME); null: the agent's own.</param>
public sealed class PacketSocketProber(string? networkNamespace = null) : INeighbourProber
{
    public Task<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>> ProbeAsync(LinkInfo link, IReadOnlyCollection<IPAddressValue> addresses, TimeSpan window, CancellationToken cancellationToken)
    {
        var mac = link.HardwareAddress ?? throw new InvalidOperationException($"{link.Name} has no Ethernet address to probe from");
        if (addresses.Count == 0)
        {
            return Task.FromResult<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>>(new Dictionary<IPAddressValue, PhysicalAddress>());
        }
        // Blocking receives for a window of a few hundred milliseconds at most: a thread of its own.
        return Task.Factory.StartNew<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>>(() => Probe(link, mac, addresses, window, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private Dictionary<IPAddressValue, PhysicalAddress> Probe(LinkInfo link, PhysicalAddress mac, IReadOnlyCollection<IPAddressValue> addresses, TimeSpan window, CancellationToken cancellationToken)
    {
        var probed = addresses.ToHashSet();
        var sockets = new List<(PacketSocket Socket, ushort EtherType, IPAddressValue[] Addresses)>();
        try
        {
            foreach (var family in probed.GroupBy(a => a.Family))
            {
                var etherType = family.Key == IPFamily.IPv4 ? NeighbourFrames.EtherTypeArp : NeighbourFrames.EtherTypeIPv6;
                // Bound before the first probe goes out: an answer cannot arrive before the socket listens.
                sockets.Add((Open(etherType, link.Index), etherType, [.. family]));
            }
            var answered = new Dictionary<IPAddressValue, PhysicalAddress>();
            var buffer = new byte[2048];
            var clock = Stopwatch.StartNew();
            var repeated = false;
            Send();
            while (clock.Elapsed < window && answered.Count < probed.Count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!repeated && clock.Elapsed >= window / 2)
                {
                    repeated = true;
                    Send();
                }
                // A short wait per socket: every socket is read within the window, the repeat goes out on time.
                var slice = TimeSpan.FromMilliseconds(Math.Max(1, Math.Min(10, (window - clock.Elapsed).TotalMilliseconds)));
                foreach (var (socket, _, _) in sockets)
                {
                    int length;
                    var first = true;
                    // Bounded by the window too: the IPv6 socket also gets the uplink's other IPv6 traffic.
                    while (clock.Elapsed < window && (length = socket.Receive(buffer, first ? slice / sockets.Count : TimeSpan.Zero)) > 0)
                    {
                        first = false;
                        if (NeighbourFrames.Answer(buffer.AsSpan(0, length), mac, probed) is { } answer)
                        {
                            answered.TryAdd(answer.Address, answer.From);
                        }
                    }
                }
            }
            return answered;

            void Send()
            {
                foreach (var (socket, etherType, family) in sockets)
                {
                    foreach (var address in family.Where(a => !answered.ContainsKey(a)))
                    {
                        socket.Send(NeighbourFrames.Probe(address, mac), etherType, link.Index, $"probe {address} on {link.Name}");
                    }
                }
            }
        }
        finally
        {
            foreach (var (socket, _, _) in sockets)
            {
                socket.Dispose();
            }
        }
    }

    private PacketSocket Open(ushort etherType, int interfaceIndex) => networkNamespace is null
        ? PacketSocket.Receiving(etherType, interfaceIndex)
        : Netlink.NetworkNamespaces.Inside(networkNamespace, () => PacketSocket.Receiving(etherType, interfaceIndex));
}
