using System.Net;
using System.Net.Sockets;
using System.Text;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Ipvs;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Tests.Support;
using static IpvsOperator.Tests.Support.Processes;

namespace IpvsOperator.Tests.Dataplane.Kernel;

/// <summary>The sync daemon contract against the real kernel, on a veth pair of the VM's own (runs only in the kernel VM).</summary>
[Category("Kernel")]
[NonParallelizable]
public class KernelConnectionSyncContractTests : ConnectionSyncContract
{
    private IpvsNetlink ipvs = null!;

    [OneTimeSetUp]
    public async Task OpenAsync()
    {
        KernelRequirement.Ipvs();
        ipvs = IpvsNetlink.Open();
        await RunAsync("ip", ["link", "del", "ipvs-sync0"], TimeSpan.FromSeconds(20));
        await Sh("ip link add ipvs-sync0 type veth peer name ipvs-sync1");
        await Sh("ip link set ipvs-sync0 up");
        await Sh("ip link set ipvs-sync1 up");
    }

    [OneTimeTearDown]
    public async Task CloseAsync()
    {
        ipvs?.Dispose();
        await RunAsync("ip", ["link", "del", "ipvs-sync0"], TimeSpan.FromSeconds(20));
    }

    [SetUp]
    public void StopAll()
    {
        foreach (var daemon in ipvs.ListDaemons())
        {
            ipvs.StopDaemon(daemon.Role);
        }
    }

    protected override IConnectionSync Sync => ipvs;

    protected override string SyncInterface => "ipvs-sync0";

    protected override void ShouldRefuse(Action request, DataplaneError refusal, int errno) =>
        request.Should().Throw<NetlinkException>().Where(e => e.Error == refusal && e.ErrorNumber == errno);
}

/// <summary>
/// What the sync daemons give a layer 2 failover, on the real kernel: two network namespaces stand
/// for two nodes (csa, master; csb, backup) with the same virtual service, on one bridged LAN
/// (10.9.0.0/24, the bridge in cslan) with a backend (csk, forward method droute: the VIP on its
/// loopback) and a client (csc) whose route to the VIP stands for the node that holds it. The
/// client's connection goes through csa; csb's IPVS gets its entry from csa's master daemon
/// without ever seeing a packet of it, and when the route moves to csb the connection goes on
/// through csb, which has neither sloppy TCP nor mh: the synced entry alone carries it.
/// </summary>
[Category("Kernel")]
[NonParallelizable]
public class KernelConnectionSyncTrafficTests
{
    private const string Lan = "10.9.0";
    private const string Vip = "10.9.1.1";
    private const string Master = "csa";
    private const string Backup = "csb";
    private const string Backend = "csk";
    private const string Client = "csc";
    private const string Bridge = "cslan";
    private static readonly string[] Hosts = [Master, Backup, Backend, Client];
    private static readonly VirtualServiceKey Echo = new(IPAddressValue.Parse(Vip), IpvsProtocol.TCP, 80);
    private readonly CancellationTokenSource stop = new();
    private Socket? listener;

    private static string AddressOf(string ns) => $"{Lan}.{Array.IndexOf(Hosts, ns) + 1}";

    [OneTimeSetUp]
    public async Task BuildLanAsync()
    {
        KernelRequirement.Ipvs();
        await NamespaceLan.BuildAsync(Bridge, Hosts.ToDictionary(ns => ns, AddressOf), multicastSnooping: false);
        foreach (var node in new[] { Master, Backup })
        {
            // As the agent holds a VIP: on a dummy link, the same virtual service on both nodes.
            await Sh($"ip -n {node} link add ipvs-lb0 type dummy");
            await Sh($"ip -n {node} link set ipvs-lb0 up");
            await Sh($"ip -n {node} addr add {Vip}/32 dev ipvs-lb0");
            using var ipvs = Open(node);
            ipvs.AddService(new VirtualService(Echo, "rr"));
            ipvs.AddDestination(Echo, new Destination(IPAddressValue.Parse(AddressOf(Backend)), 80, 1, ForwardMethod.DirectRoute));
        }
        await NamespaceLan.HoldForDirectRoutingAsync(Backend, Vip);
        listener = NamespaceLan.ServeLines(Backend, line => $"echo {line}", stop.Token);
    }

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        await stop.CancelAsync();
        listener?.Dispose();
        await NamespaceLan.RemoveAsync(Bridge, Hosts);
    }

    private static IpvsNetlink Open(string ns) => IpvsNetlink.Open(NetworkNamespaces.Open($"/var/run/netns/{ns}", NetlinkConstants.NetlinkGeneric));

    private static async Task<string?> ExchangeAsync(Socket socket, StreamReader reader, int counter) =>
        await NamespaceLan.ExchangeAsync(socket, reader, counter.ToString(System.Globalization.CultureInfo.InvariantCulture)) is var (answer, failure) ? answer ?? $"({failure})" : null;

    [Test]
    public async Task The_backup_gets_the_masters_connection_and_carries_it_when_the_route_moves_to_it()
    {
        using var master = Open(Master);
        using var backup = Open(Backup);
        foreach (var (ipvs, ns) in new[] { (master, Master), (backup, Backup) })
        {
            foreach (var daemon in ipvs.ListDaemons())
            {
                ipvs.StopDaemon(daemon.Role);
            }
            (await Sh($"ip netns exec {ns} sysctl -n net.ipv4.vs.sloppy_tcp")).Trim().Should().Be("0", "only the synced entry may carry the moved connection");
        }
        backup.StartDaemon(new SyncDaemon(SyncDaemonRole.Backup, "eth0", 34));
        master.StartDaemon(new SyncDaemon(SyncDaemonRole.Master, "eth0", 34));
        await Sh($"ip -n {Client} route replace {Vip}/32 via {AddressOf(Master)}");

        var (socket, reader) = await NamespaceLan.ConnectAsync(Client, AddressOf(Client), 44001, Vip);
        using var connection = socket;
        using var lines = reader;
        for (var counter = 1; counter <= 5; counter++)
        {
            (await ExchangeAsync(socket, reader, counter)).Should().Be($"echo {counter}", "the connection works through the master");
        }

        // The backup's table: the client's connection, to the backend, though no packet of it reached csb.
        var entry = $"{AddressOf(Client)}:44001";
        string table = string.Empty;
        await Eventually.TrueAsync(async () => (table = await Sh($"ip netns exec {Backup} ipvsadm -Lnc")).Contains(entry, StringComparison.Ordinal),
            () => $"the backup holds the master's connection; its table:\n{table}", TimeSpan.FromSeconds(30));
        TestContext.Out.WriteLine($"backup's connections:\n{table}");
        // What the agent's synced-connections figure reads: the kernel marks the backup's entry SYNC, the master's own LOCAL.
        ConnectionOrigins.CountSynced(new StringReader(await Sh($"ip netns exec {Backup} cat /proc/net/ip_vs_conn_sync"))).Should().Be(1);
        ConnectionOrigins.CountSynced(new StringReader(await Sh($"ip netns exec {Master} cat /proc/net/ip_vs_conn_sync"))).Should().Be(0, "the master scheduled its connection itself");
        table.Should().MatchRegex($@"TCP\s+\S+\s+ESTABLISHED\s+{Lan.Replace(".", @"\.")}\.4:44001\s+{Vip.Replace(".", @"\.")}:80\s+{Lan.Replace(".", @"\.")}\.3:80");

        await Sh($"ip -n {Client} route replace {Vip}/32 via {AddressOf(Backup)}");
        for (var counter = 6; counter <= 10; counter++)
        {
            (await ExchangeAsync(socket, reader, counter)).Should().Be($"echo {counter}", "the connection goes on through the backup, on its synced entry");
        }

        master.StopDaemon(SyncDaemonRole.Master);
        backup.StopDaemon(SyncDaemonRole.Backup);
    }

    [Test]
    public async Task Without_the_sync_daemons_the_same_move_breaks_the_connection()
    {
        using var master = Open(Master);
        using var backup = Open(Backup);
        foreach (var ipvs in new[] { master, backup })
        {
            foreach (var daemon in ipvs.ListDaemons())
            {
                ipvs.StopDaemon(daemon.Role);
            }
        }
        await Sh($"ip -n {Client} route replace {Vip}/32 via {AddressOf(Master)}");
        var (socket, reader) = await NamespaceLan.ConnectAsync(Client, AddressOf(Client), 44101, Vip);
        using var connection = socket;
        using var lines = reader;
        (await ExchangeAsync(socket, reader, 1)).Should().Be("echo 1");

        await Sh($"ip -n {Client} route replace {Vip}/32 via {AddressOf(Backup)}");

        (await ExchangeAsync(socket, reader, 2)).Should().NotBe("echo 2", "csb has no entry for it, and answers for the VIP itself");
    }
}
