using System.Net;
using System.Net.Sockets;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Dataplane.Nftables;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>
/// The VIP port filter of the agent's nftables table, judged by the host's kernel: a "node"
/// namespace holds the VIP and its own address on a veth pair to a "client" namespace, with TCP
/// listeners on a served port, on an ssh stand-in and on a metrics stand-in. Through the VIP only the
/// served port answers; the node's own address still reaches everything. Traffic stays on that
/// veth pair, between addresses the test assigned.
/// </summary>
[NonParallelizable]
public class VipPortFilterTests
{
    private const string Vip = "198.51.100.50";
    private const string NodeAddress = "198.51.100.2";
    private readonly string node = $"ipvsop-n-{Guid.NewGuid().ToString("N")[..6]}";
    private readonly string client = $"ipvsop-c-{Guid.NewGuid().ToString("N")[..6]}";
    private readonly List<TcpListener> listeners = [];

    [OneTimeSetUp]
    public async Task CreateNamespacesAsync()
    {
        HostTools.Require(("nft", "nftables"), ("busybox", "busybox-static"));
        await Processes.Sh($"ip netns add {node}");
        await Processes.Sh($"ip netns add {client}");
        await Processes.Sh($"ip -n {node} link add veth0 type veth peer name veth1 netns {client}");
        await Processes.Sh($"ip -n {node} link set lo up");
        await Processes.Sh($"ip -n {node} link set veth0 up");
        await Processes.Sh($"ip -n {client} link set veth1 up");
        await Processes.Sh($"ip -n {node} addr add {NodeAddress}/24 dev veth0");
        await Processes.Sh($"ip -n {node} addr add {Vip}/32 dev veth0");
        await Processes.Sh($"ip -n {client} addr add 198.51.100.3/24 dev veth1");
        foreach (var port in new[] { 80, 2222, 8081 })
        {
            // Listens on every address of the node, as sshd and a metrics server do.
            var listener = NetworkNamespaces.Inside($"/var/run/netns/{node}", () =>
            {
                var socket = new TcpListener(IPAddress.Any, port);
                socket.Start();
                return socket;
            });
            listeners.Add(listener);
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    using var accepted = await listener.AcceptTcpClientAsync();
                }
            });
        }
    }

    [OneTimeTearDown]
    public async Task RemoveNamespacesAsync()
    {
        listeners.ForEach(l => l.Dispose());
        await Processes.RunAsync("ip", ["netns", "del", node]);
        await Processes.RunAsync("ip", ["netns", "del", client]);
    }

    /// <summary>A TCP connection from the client namespace, given two seconds: a dropped SYN times out.</summary>
    private async Task<bool> ConnectsAsync(string address, int port)
    {
        using var socket = NetworkNamespaces.Inside($"/var/run/netns/{client}", () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.ConnectAsync(IPAddress.Parse(address), port, deadline.Token);
            return true;
        }
        catch (Exception error) when (error is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    [Test]
    public async Task Through_a_VIP_only_the_ports_of_its_Services_answer()
    {
        await Eventually.TrueAsync(async () => await ConnectsAsync(Vip, 2222) && await ConnectsAsync(Vip, 80), "without the table, the VIP answers on every port the node listens on");
        var vip = IPAddressValue.Parse(Vip);
        var served = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);

        var script = NftablesScript.Render(new NetfilterRules(new HashSet<VirtualServiceKey>(), new HashSet<VirtualServiceKey> { served }));
        var loaded = await Processes.RunAsync("ip", ["netns", "exec", node, "nft", "-f", "-"], standardInput: script);
        loaded.ExitCode.Should().Be(0, "nft loads the table: {0}{1}", loaded.Error, loaded.Output);

        (await ConnectsAsync(Vip, 80)).Should().BeTrue("the Service's port gets through");
        (await ConnectsAsync(Vip, 2222)).Should().BeFalse("the ssh stand-in is not reachable through the VIP");
        (await ConnectsAsync(Vip, 8081)).Should().BeFalse("nor is the agent's metrics port");
        (await ConnectsAsync(NodeAddress, 2222)).Should().BeTrue("the node's own address is not filtered");
        (await Processes.RunAsync("ip", ["netns", "exec", client, "busybox", "ping", "-c", "1", "-W", "2", Vip])).ExitCode.Should().Be(0, "ICMP reaches the VIP (path MTU discovery needs it)");
    }
}
