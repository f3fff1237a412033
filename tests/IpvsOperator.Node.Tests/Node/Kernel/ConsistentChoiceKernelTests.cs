using System.Net;
using System.Net.Sockets;
using System.Text;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Ipvs;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Readers;
using IpvsOperator.Tests.Support;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using static IpvsOperator.Tests.Support.Processes;

namespace IpvsOperator.Tests.Node.Kernel;

/// <summary>
/// What an ECMP rehash does to a connection, on the real kernel in the VM, narrowed to its core: two
/// network namespaces stand for two nodes (cca, ccb), each programmed by the agent's own sync
/// (<see cref="KernelSync"/>: the desired state from a pool with consistent hashing, the planner,
/// IPVS over generic netlink in that namespace, the VIP on its dummy link, the sloppy sysctls) from
/// the same cluster view but another history. Three backends (cck1-3) answer on the VIP itself
/// (forward method droute: each has the VIP on its loopback and answers the client directly), a
/// client (ccc) holds 20 TCP connections from fixed source ports, all on one bridged LAN
/// (10.8.0.0/24, the bridge in a namespace of its own, cclan). The client's route to the VIP stands
/// for the router: it points at cca, then at ccb, as a router's ECMP does when a node leaves. What it
/// proves: with mh in one destination order and sloppy TCP, a node that never saw a connection's
/// SYN forwards its next segment to the backend that holds it, and the connection goes on; with the
/// destinations in another order, or without sloppy TCP, some or all of them break. What it does not:
/// BGP itself (BgpKernelTests), and the source NAT of forward method masq, with which a moved
/// connection cannot survive (the backend would see the other node's address). Every address here
/// is one the test assigned, inside namespaces it created.
/// </summary>
[Category("Kernel")]
[NonParallelizable]
public class ConsistentChoiceKernelTests
{
    private const string Lan = "10.8.0";
    private const string Vip = "10.8.1.1";
    private const string Client = "ccc";
    private const string Bridge = "cclan";
    private const int Connections = 20;
    private static readonly string[] Nodes = ["cca", "ccb"];
    private static readonly string[] Backends = ["cck1", "cck2", "cck3"];
    private static readonly VirtualServiceKey Http = new(IPAddressValue.Parse(Vip), IpvsProtocol.TCP, 80);
    private readonly List<System.Net.Sockets.Socket> listeners = [];
    private readonly CancellationTokenSource stop = new();

    private static string AddressOf(string ns) => ns switch
    {
        "cca" => $"{Lan}.1",
        "ccb" => $"{Lan}.2",
        Client => $"{Lan}.100",
        _ => $"{Lan}.{10 + int.Parse(ns[3..], System.Globalization.CultureInfo.InvariantCulture)}",
    };

    private static IEnumerable<string> Hosts => Nodes.Concat(Backends).Append(Client);

    [OneTimeSetUp]
    public async Task BuildLanAsync()
    {
        KernelRequirement.Ipvs();
        await NamespaceLan.BuildAsync(Bridge, Hosts.ToDictionary(ns => ns, AddressOf));
        foreach (var backend in Backends)
        {
            await NamespaceLan.HoldForDirectRoutingAsync(backend, Vip);
            listeners.Add(NamespaceLan.ServeLines(backend, line => $"{backend} {line}", stop.Token));
        }
    }

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        await stop.CancelAsync();
        listeners.ForEach(l => l.Dispose());
        await NamespaceLan.RemoveAsync(Bridge, Hosts);
    }

    /// <summary>A node: the agent's sync over IPVS and the bind link of its namespace, its sysctls there too.</summary>
    private sealed class NodeKernel : IDisposable
    {
        private readonly IpvsNetlink ipvs;
        private readonly RouteNetlink route;

        public NodeKernel(string ns)
        {
            Namespace = ns;
            ipvs = IpvsNetlink.Open(NetworkNamespaces.Open($"/var/run/netns/{ns}", NetlinkConstants.NetlinkGeneric));
            route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{ns}", NetlinkConstants.NetlinkRoute));
            Sysctl = new NamespaceSysctl(ns);
            Sync = new KernelSync(new NodeDataplane(ipvs, route, new InMemoryNetfilter(), new InMemoryNeighbourAdvertiser(), Sysctl),
                new NodeAgentOptions { NodeName = ns }, TimeProvider.System, NullLogger.Instance);
        }

        public string Namespace { get; }

        public KernelSync Sync { get; }

        public NamespaceSysctl Sysctl { get; }

        public IpvsNetlink Ipvs => ipvs;

        public void Run(ClusterView view) => Sync.Run(view, SyncTrigger.Change).Failure.Should().BeNull($"{Namespace} syncs");

        public void Dispose()
        {
            ipvs.Dispose();
            route.Dispose();
        }
    }

    /// <summary>/proc/sys as a namespace sees it: opened from a thread inside it.</summary>
    private sealed class NamespaceSysctl(string ns) : ISysctl
    {
        private readonly ProcSysctl proc = new();

        public string? Read(string key) => NetworkNamespaces.Inside($"/var/run/netns/{ns}", () => new StrongBox(proc.Read(key))).Value;

        public void Write(string key, string value) => NetworkNamespaces.Inside($"/var/run/netns/{ns}", () =>
        {
            proc.Write(key, value);
            return new StrongBox(value);
        });

        private sealed record StrongBox(string? Value);
    }

    private static ClusterView View(params int[] backends) => new(
        [new V1Alpha1IPAllocation
        {
            Metadata = new V1ObjectMeta { Name = AllocationNames.For(IPAddressValue.Parse(Vip)) },
            Spec = new IPAllocationSpec { Address = Vip, Pool = "ecmp", ServiceRef = new ServiceReference { Namespace = "default", Name = "web", Uid = "web" } },
        }],
        [new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default", Uid = "web", Annotations = new Dictionary<string, string> { [WellKnown.Annotations.ForwardMethod] = "droute" } },
            Spec = new V1ServiceSpec { Type = "LoadBalancer", ExternalTrafficPolicy = "Cluster", Ports = [new V1ServicePort { Name = "echo", Port = 80, Protocol = "TCP" }] },
        }],
        [new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = "web" } },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "echo", Port = 80, Protocol = "TCP" }],
            Endpoints = [.. backends.Select(b => new V1Endpoint { Addresses = [AddressOf($"cck{b}")], NodeName = "elsewhere", Conditions = new V1EndpointConditions { Ready = true } })],
        }],
        [])
    {
        Pools = [new V1Alpha1IPPool
        {
            Metadata = new V1ObjectMeta { Name = "ecmp" },
            Spec = new IPPoolSpec { Addresses = ["10.8.1.0/28"], Announce = new PoolAnnouncement { Modes = [PoolAnnouncement.BgpMode], Bgp = new PoolBgpAnnouncement { ConsistentHashing = true } } },
        }],
    };

    /// <summary>The router's choice: the client's route to the VIP through one node.</summary>
    private static Task<string> RouteThroughAsync(string node) => Sh($"ip -n {Client} route replace {Vip}/32 via {AddressOf(node)}");

    /// <summary>One connection's fate after the move: the backend that answered before and after (null: broken).</summary>
    private sealed record Moved(int SourcePort, string Before, string? After, string? Failure);

    /// <summary>
    /// Opens the connections through cca, checks that each answers, moves the route to ccb and sends
    /// the next counter on each: what each connection answers then.
    /// </summary>
    private static async Task<List<Moved>> MoveConnectionsAsync(int firstPort)
    {
        await RouteThroughAsync("cca");
        var connections = new List<(int Port, Socket Socket, StreamReader Reader)>();
        try
        {
            for (var port = firstPort; port < firstPort + Connections; port++)
            {
                var (socket, reader) = await NamespaceLan.ConnectAsync(Client, AddressOf(Client), port, Vip);
                connections.Add((port, socket, reader));
            }
            var before = new List<string>();
            foreach (var (_, socket, reader) in connections)
            {
                before.Add(Backend(await NamespaceLan.ExchangeAsync(socket, reader, "1"), 1).Backend ?? throw new InvalidOperationException("a connection through cca did not answer"));
            }
            await RouteThroughAsync("ccb");
            var moved = new List<Moved>();
            for (var i = 0; i < connections.Count; i++)
            {
                var (port, socket, reader) = connections[i];
                var (backend, failure) = Backend(await NamespaceLan.ExchangeAsync(socket, reader, "2"), 2);
                moved.Add(new Moved(port, before[i], backend, failure));
            }
            return moved;
        }
        finally
        {
            foreach (var (_, socket, reader) in connections)
            {
                reader.Dispose();
                socket.Dispose();
            }
        }
    }

    /// <summary>The backend that echoed the counter (its answer is "NAME COUNTER"), or why none did.</summary>
    private static (string? Backend, string? Failure) Backend((string? Answer, string? Failure) exchange, int counter) =>
        exchange.Answer is { } answer && answer.EndsWith($" {counter}", StringComparison.Ordinal)
            ? (answer[..answer.IndexOf(' ', StringComparison.Ordinal)], null)
            : (null, exchange.Failure ?? $"answered '{exchange.Answer}'");

    private static string Describe(IEnumerable<Moved> moved) =>
        string.Join("; ", moved.Select(m => $"{m.SourcePort}: {m.Before} -> {m.After ?? m.Failure}"));

    [Test]
    public async Task Connections_moved_to_a_node_programmed_by_another_history_keep_their_backends()
    {
        using var seenEveryChange = new NodeKernel("cca");
        using var restarted = new NodeKernel("ccb");
        seenEveryChange.Run(View(1, 3));
        seenEveryChange.Run(View(1, 2, 3));
        restarted.Run(View(3, 2, 1));
        seenEveryChange.Ipvs.ListDestinations(Http).Should().Equal(restarted.Ipvs.ListDestinations(Http), "both hold the destinations in one order");
        seenEveryChange.Ipvs.ListServices().Single(s => s.Key == Http).Should().Be(new VirtualService(Http, "mh", SchedulerFlags: IpvsSchedulerFlags.Fallback | IpvsSchedulerFlags.Port));
        restarted.Sysctl.Read(SloppySysctls.Tcp).Should().Be("1");
        seenEveryChange.Sync.ChoiceDigests[IPAddressValue.Parse(Vip)].Should().Be(restarted.Sync.ChoiceDigests[IPAddressValue.Parse(Vip)]);

        var moved = await MoveConnectionsAsync(41001);

        TestContext.Out.WriteLine($"moved: {Describe(moved)}");
        moved.Select(m => m.Before).Distinct().Should().HaveCountGreaterThan(1, "mh-port spreads one client's connections over the backends");
        moved.Should().OnlyContain(m => m.After == m.Before, $"every connection goes on, on its backend: {Describe(moved)}");
    }

    [Test]
    public async Task Without_sloppy_TCP_the_other_node_resets_every_moved_connection()
    {
        using var seenEveryChange = new NodeKernel("cca");
        using var restarted = new NodeKernel("ccb");
        seenEveryChange.Run(View(1, 2, 3));
        restarted.Run(View(1, 2, 3));
        restarted.Sysctl.Write(SloppySysctls.Tcp, "0");
        try
        {
            var moved = await MoveConnectionsAsync(42001);

            TestContext.Out.WriteLine($"moved: {Describe(moved)}");
            moved.Should().OnlyContain(m => m.After == null, $"ccb has no entry for them and answers for the VIP itself: {Describe(moved)}");
        }
        finally
        {
            restarted.Sysctl.Write(SloppySysctls.Tcp, "1");
        }
    }

    /// <summary>
    /// Maglev is built to move few flows when its input changes: another order of three
    /// destinations gives another backend to about 0.15% of the table (a simulation of the
    /// kernel's fill), too few to see among 20 connections. So this counts thousands of flows: one
    /// UDP datagram from each of 3,000 source ports through each node, to a VIP with ten
    /// destinations (addresses nobody holds: the choice is what is counted, read from each node's
    /// connection table, not the delivery).
    /// </summary>
    [Test]
    public async Task Thousands_of_flows_are_scheduled_alike_by_both_nodes_and_another_order_changes_some()
    {
        using var seenEveryChange = new NodeKernel("cca");
        using var restarted = new NodeKernel("ccb");
        seenEveryChange.Run(FlowsView(50, 51, 52, 53, 54, 55, 56, 57));
        seenEveryChange.Run(FlowsView(50, 51, 52, 53, 54, 55, 56, 57, 58, 59));
        seenEveryChange.Run(FlowsView(50, 52, 53, 54, 55, 56, 57, 58, 59, 51));
        restarted.Run(FlowsView(59, 58, 57, 56, 55, 54, 53, 52, 51, 50));

        var alike = await CompareFlowsAsync(firstPort: 45001);

        // What a node whose list was never put in order holds: the same destinations, the other way round.
        var listed = restarted.Ipvs.ListDestinations(Flows);
        foreach (var destination in listed)
        {
            restarted.Ipvs.DeleteDestination(Flows, destination.Address, destination.Port);
        }
        foreach (var destination in listed)
        {
            restarted.Ipvs.AddDestination(Flows, destination);
        }
        var reordered = await CompareFlowsAsync(firstPort: 50001);

        TestContext.Out.WriteLine($"flows scheduled to another destination by the second node: in canonical order {alike.Differ} of {alike.Counted}, in reverse order {reordered.Differ} of {reordered.Counted}");
        alike.Counted.Should().Be(FlowCount, "every flow has an entry on both nodes");
        alike.Differ.Should().Be(0, "both nodes hold the destinations in one order, whatever their histories");
        reordered.Counted.Should().Be(FlowCount);
        reordered.Differ.Should().BeGreaterThan(0, "the kernel's mh table depends on the order of the destinations");
    }

    private const int FlowCount = 3000;
    private const string FlowsVip = "10.8.1.2";
    private static readonly VirtualServiceKey Flows = new(IPAddressValue.Parse(FlowsVip), IpvsProtocol.UDP, 53);

    /// <summary>A UDP Service on its own VIP whose endpoints are addresses on the LAN that nobody holds.</summary>
    private static ClusterView FlowsView(params int[] lastOctets)
    {
        var view = View();
        return view with
        {
            Allocations = [new V1Alpha1IPAllocation
            {
                Metadata = new V1ObjectMeta { Name = AllocationNames.For(IPAddressValue.Parse(FlowsVip)) },
                Spec = new IPAllocationSpec { Address = FlowsVip, Pool = "ecmp", ServiceRef = new ServiceReference { Namespace = "default", Name = "flows", Uid = "flows" } },
            }],
            Services = [new V1Service
            {
                Metadata = new V1ObjectMeta { Name = "flows", NamespaceProperty = "default", Uid = "flows", Annotations = new Dictionary<string, string> { [WellKnown.Annotations.ForwardMethod] = "droute" } },
                Spec = new V1ServiceSpec { Type = "LoadBalancer", ExternalTrafficPolicy = "Cluster", Ports = [new V1ServicePort { Name = "dns", Port = 53, Protocol = "UDP" }] },
            }],
            EndpointSlices = [new V1EndpointSlice
            {
                Metadata = new V1ObjectMeta { Name = "flows", NamespaceProperty = "default", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = "flows" } },
                AddressType = "IPv4",
                Ports = [new Discoveryv1EndpointPort { Name = "dns", Port = 53, Protocol = "UDP" }],
                Endpoints = [.. lastOctets.Select(o => new V1Endpoint { Addresses = [$"{Lan}.{o}"], NodeName = "elsewhere", Conditions = new V1EndpointConditions { Ready = true } })],
            }],
        };
    }

    /// <summary>One datagram per source port through cca, then the same ports again through ccb: how many got another destination.</summary>
    private static async Task<(int Counted, int Differ)> CompareFlowsAsync(int firstPort)
    {
        var chosen = new List<Dictionary<int, string>>();
        foreach (var node in Nodes)
        {
            await Sh($"ip -n {Client} route replace {FlowsVip}/32 via {AddressOf(node)}");
            NetworkNamespaces.Inside($"/var/run/netns/{Client}", () =>
            {
                for (var port = firstPort; port < firstPort + FlowCount; port++)
                {
                    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    socket.Bind(new IPEndPoint(IPAddress.Parse(AddressOf(Client)), port));
                    socket.SendTo([1], new IPEndPoint(IPAddress.Parse(FlowsVip), 53));
                }
                return new object();
            });
            chosen.Add(await ChosenAsync(node, firstPort));
        }
        var counted = chosen[0].Keys.Intersect(chosen[1].Keys).ToList();
        return (counted.Count, counted.Count(port => chosen[0][port] != chosen[1][port]));
    }

    /// <summary>The destination a node's connection table gives each client port of the range (polled: entries are made as the datagrams pass).</summary>
    private static async Task<Dictionary<int, string>> ChosenAsync(string node, int firstPort)
    {
        var chosen = new Dictionary<int, string>();
        await Eventually.TrueAsync(async () =>
        {
            chosen = [];
            foreach (var line in (await Sh($"ip netns exec {node} ipvsadm -Lnc")).Split('\n'))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields is ["UDP", _, _, var source, var virtualAddress, var destination] && virtualAddress == $"{FlowsVip}:53"
                    && source.StartsWith($"{AddressOf(Client)}:", StringComparison.Ordinal)
                    && int.Parse(source[(source.IndexOf(':', StringComparison.Ordinal) + 1)..], System.Globalization.CultureInfo.InvariantCulture) is var port
                    && port >= firstPort && port < firstPort + FlowCount)
                {
                    chosen[port] = destination;
                }
            }
            return chosen.Count == FlowCount;
        }, () => $"{node} has an entry for each of the {FlowCount} flows; it has {chosen.Count}", TimeSpan.FromSeconds(60));
        return chosen;
    }
}
