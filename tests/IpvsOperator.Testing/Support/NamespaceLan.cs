using System.Net;
using System.Net.Sockets;
using System.Text;
using IpvsOperator.Dataplane.Netlink;
using static IpvsOperator.Tests.Support.Processes;

namespace IpvsOperator.Tests.Support;

/// <summary>
/// A LAN of network namespaces for the kernel tests: one bridge, in a namespace of its own so that
/// nothing of it lands in the VM's root namespace, and a host namespace per address, each with its
/// eth0 on the bridge. Every name and address is the test's own.
/// </summary>
public static class NamespaceLan
{
    /// <param name="hosts">Each host namespace with its address on the LAN's /24.</param>
    /// <param name="multicastSnooping">Off where multicast must reach every port whoever asked for it (the IPVS sync daemons).</param>
    public static async Task BuildAsync(string bridge, IReadOnlyDictionary<string, string> hosts, bool multicastSnooping = true)
    {
        await RemoveAsync(bridge, hosts.Keys);
        await Sh($"ip netns add {bridge}");
        await Sh($"ip -n {bridge} link add br0 type bridge mcast_snooping {(multicastSnooping ? 1 : 0)}");
        await Sh($"ip -n {bridge} link set br0 up");
        foreach (var (ns, address) in hosts)
        {
            await Sh($"ip netns add {ns}");
            await Sh($"ip link add {ns} type veth peer name eth0 netns {ns}");
            await Sh($"ip link set {ns} netns {bridge}");
            await Sh($"ip -n {bridge} link set {ns} master br0 up");
            await Sh($"ip -n {ns} link set lo up");
            await Sh($"ip -n {ns} addr add {address}/24 dev eth0");
            await Sh($"ip -n {ns} link set eth0 up");
        }
    }

    /// <summary>The namespaces, from an earlier run or this one (their links go with them).</summary>
    public static async Task RemoveAsync(string bridge, IEnumerable<string> hosts)
    {
        foreach (var ns in hosts.Append(bridge))
        {
            await RunAsync("ip", ["netns", "del", ns], TimeSpan.FromSeconds(20));
        }
    }

    /// <summary>
    /// A backend for forward method droute: it takes packets for <paramref name="vip"/> as its own
    /// (on its loopback) and never answers for it on the LAN.
    /// </summary>
    public static async Task HoldForDirectRoutingAsync(string ns, string vip)
    {
        await Sh($"ip -n {ns} addr add {vip}/32 dev lo");
        await Sh($"ip netns exec {ns} sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2");
    }

    /// <summary>A TCP server in <paramref name="ns"/> on port 80: each line a connection sends comes back as <paramref name="answer"/> makes it, until <paramref name="stop"/>.</summary>
    public static Socket ServeLines(string ns, Func<string, string> answer, CancellationToken stop)
    {
        var listener = NetworkNamespaces.Inside($"/var/run/netns/{ns}", () =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, 80));
            socket.Listen(64);
            return socket;
        });
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var connection = await listener.AcceptAsync(stop);
                _ = Task.Run(async () =>
                {
                    using var stream = new NetworkStream(connection, ownsSocket: true);
                    using var reader = new StreamReader(stream, Encoding.ASCII);
                    while (await reader.ReadLineAsync(stop) is { } line)
                    {
                        await stream.WriteAsync(Encoding.ASCII.GetBytes(answer(line) + "\n"), stop);
                    }
                }, stop);
            }
        }, stop);
        return listener;
    }

    /// <summary>A TCP connection from <paramref name="ns"/>, from a fixed source port, that leaves no TIME_WAIT behind (closed with a reset).</summary>
    public static async Task<(Socket Socket, StreamReader Reader)> ConnectAsync(string ns, string source, int port, string vip)
    {
        var socket = NetworkNamespaces.Inside($"/var/run/netns/{ns}", () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        socket.LingerState = new LingerOption(true, 0);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Parse(source), port));
        using (var connect = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await socket.ConnectAsync(IPAddress.Parse(vip), 80, connect.Token);
        }
        return (socket, new StreamReader(new NetworkStream(socket), Encoding.ASCII));
    }

    /// <summary>Sends a line and reads the answer: the answer, or null and why none came.</summary>
    public static async Task<(string? Answer, string? Failure)> ExchangeAsync(Socket socket, StreamReader reader, string line)
    {
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"{line}\n"));
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(8));
            return await reader.ReadLineAsync(wait.Token) is { } answer ? (answer, null) : (null, "closed");
        }
        catch (Exception error) when (error is IOException or SocketException or OperationCanceledException)
        {
            return (null, $"{error.GetType().Name}: {error.Message}");
        }
    }
}
