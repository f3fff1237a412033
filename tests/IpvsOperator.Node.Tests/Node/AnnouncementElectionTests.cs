using System.Collections.Concurrent;
using System.Net.NetworkInformation;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Entities;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// Per-address election on Leases against LocalCluster, three node agents: one holder per address,
/// spread over the nodes, handed over at once on a clean stop, withdrawn by a partitioned holder
/// before anyone else takes it, and spread again when the node comes back.
/// </summary>
[NonParallelizable]
public class AnnouncementElectionTests : LocalClusterFixture
{
    private static readonly IPAddressValue[] Addresses = [.. Enumerable.Range(1, 30).Select(i => IPAddressValue.Parse($"198.51.100.{i}"))];

    // Who may announce each address; null: any live node. A test may narrow it while agents run.
    private volatile Dictionary<IPAddressValue, Candidacy> candidates = Addresses.ToDictionary(a => a, _ => new Candidacy(null));
    private readonly List<Agent> agents = [];

    /// <summary>Fails every request while partitioned, as a node cut off from the API server would see it.</summary>
    private sealed class PartitionHandler : DelegatingHandler
    {
        public volatile bool Partitioned;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Partitioned ? throw new HttpRequestException("network unreachable (partitioned by the test)") : base.SendAsync(request, cancellationToken);
    }

    private sealed class Agent(string name, AnnouncementElection election, PartitionHandler network, IKubernetes client)
    {
        public string Name { get; } = name;
        public AnnouncementElection Election { get; } = election;
        public PartitionHandler Network { get; } = network;
        public IKubernetes Client { get; } = client;
        public CancellationTokenSource Stop { get; } = new();
        public Task Run { get; set; } = Task.CompletedTask;
        public ConcurrentQueue<(DateTimeOffset At, IPAddressValue[] Held)> History { get; } = new();

        /// <summary>The addresses it found answered elsewhere, after each change.</summary>
        public ConcurrentQueue<IPAddressValue[]> Conflicts { get; } = new();

        public IPAddressValue[] Held => History.LastOrDefault().Held ?? [];
    }

    [OneTimeSetUp]
    public async Task CreateNamespaceAsync() =>
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = WellKnown.NodeNamespace } });

    [SetUp]
    public void EveryNodeMayAnnounceEveryAddress() => candidates = Addresses.ToDictionary(a => a, _ => new Candidacy(null));

    [TearDown]
    public async Task StopAgentsAsync()
    {
        foreach (var agent in agents)
        {
            await agent.Stop.CancelAsync();
            await agent.Run.WaitAsync(TimeSpan.FromSeconds(30));
            agent.Stop.Dispose();
            agent.Client.Dispose();
        }
        agents.Clear();
        foreach (var lease in (await Client.CoordinationV1.ListNamespacedLeaseAsync(WellKnown.NodeNamespace)).Items)
        {
            await Client.CoordinationV1.DeleteNamespacedLeaseAsync(lease.Metadata.Name, WellKnown.NodeNamespace);
        }
    }

    private Agent Start(string name, InMemoryNeighbourProber? lan = null)
    {
        var network = new PartitionHandler();
        var client = new Kubernetes(Server.ClientConfiguration(), network);
        var uplink = new LinkInfo(2, "eth0", true, "veth", PhysicalAddress.Parse($"02:00:00:00:00:{agents.Count + 1:x2}"));
        var election = new AnnouncementElection(ApiConnection.Of(client), name, new Layer2Options
        {
            LeaseDuration = TimeSpan.FromSeconds(2),
            RenewDeadline = TimeSpan.FromSeconds(1),
            RetryPeriod = TimeSpan.FromMilliseconds(100),
        }, NullLogger.Instance)
        {
            AnsweredElsewhere = (addresses, cancellation) => lan is null
                ? Task.FromResult<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>>(new Dictionary<IPAddressValue, PhysicalAddress>())
                : lan.ProbeAsync(uplink, addresses, TimeSpan.FromMilliseconds(10), cancellation),
        };
        var agent = new Agent(name, election, network, client);
        election.HeldChanged += held => agent.History.Enqueue((DateTimeOffset.UtcNow, [.. held.Order()]));
        election.ConflictsChanged += now => agent.Conflicts.Enqueue([.. now.Keys]);
        agent.Run = Task.Run(() => election.RunAsync(() => candidates, agent.Stop.Token));
        agents.Add(agent);
        return agent;
    }

    // Settled: once each, and by the node rendezvous hashing prefers among the eligible holders (a node
    // that started first holds addresses of others until it sees them live, then hands them over).
    private bool EachAddressHeldOnceBy(IEnumerable<Agent> holders) => EachHeldOnceBy(Addresses, holders);

    private bool EachHeldOnceBy(IEnumerable<IPAddressValue> addresses, IEnumerable<Agent> holders) =>
        addresses.All(a => holders.Count(h => h.Held.Contains(a)) == 1
            && holders.Single(h => h.Held.Contains(a)).Name == Rendezvous.Preferred(a, holders.Select(h => h.Name).Where(n => candidates[a].Nodes?.Contains(n) != false)))
        && agents.Except(holders).All(a => a.Held.Length == 0);

    private string Holders() => string.Join("; ", agents.Select(a => $"{a.Name}: {a.Held.Length}"));

    [Test]
    public async Task Every_address_has_one_holder_and_the_addresses_spread_over_the_nodes()
    {
        Start("node-a");
        Start("node-b");
        Start("node-c");

        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(agents), () => $"each address held by exactly one node; now {Holders()}");

        agents.Should().OnlyContain(a => a.Held.Length >= 5, $"30 addresses over 3 nodes are spread, not piled on one ({Holders()})");
    }

    [Test]
    public async Task Malformed_and_duplicate_address_Leases_are_ignored_and_every_address_still_settles()
    {
        V1Lease Stray(string name, string? address) => new()
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                Labels = new Dictionary<string, string> { [AnnouncementElection.ComponentLabel] = "address" },
                Annotations = address is null ? null : new Dictionary<string, string> { [AnnouncementElection.AddressAnnotation] = address },
            },
            Spec = new V1LeaseSpec { HolderIdentity = "someone", LeaseDurationSeconds = 3 },
        };
        // Made by hand or by a bug: one names no address, one names garbage, one names an address its own Lease will name too.
        await Client.CoordinationV1.CreateNamespacedLeaseAsync(Stray("stray-none", null), WellKnown.NodeNamespace);
        await Client.CoordinationV1.CreateNamespacedLeaseAsync(Stray("stray-garbled", "198.51.100.999"), WellKnown.NodeNamespace);
        await Client.CoordinationV1.CreateNamespacedLeaseAsync(Stray("stray-duplicate", Addresses[0].ToString()), WellKnown.NodeNamespace);
        try
        {
            Start("node-a");
            Start("node-b");

            await Eventually.TrueAsync(() => EachAddressHeldOnceBy(agents), () => $"each address held by exactly one node; now {Holders()}");
        }
        finally
        {
            foreach (var name in new[] { "stray-none", "stray-garbled", "stray-duplicate" })
            {
                await Client.CoordinationV1.DeleteNamespacedLeaseAsync(name, WellKnown.NodeNamespace);
            }
        }
    }

    [Test]
    public async Task Rounds_read_the_Leases_from_a_watch_so_steady_state_costs_one_write_per_node_per_round()
    {
        Start("node-a");
        Start("node-b");
        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(agents), () => $"settled; now {Holders()}");
        var lists = Server.RequestCounts.GetValueOrDefault("list leases");
        var updates = Server.RequestCounts.GetValueOrDefault("update leases");

        // Ten rounds of each agent (retry period 200 ms).
        await Eventually.TrueAsync(() => Server.RequestCounts.GetValueOrDefault("update leases") - updates >= 20, "twenty more renewals");

        (Server.RequestCounts.GetValueOrDefault("list leases") - lists).Should().Be(0, "no round lists the Leases: the watch keeps them");
    }

    [Test]
    public async Task A_node_stopping_cleanly_hands_its_addresses_over_and_only_those_move()
    {
        var a = Start("node-a");
        var b = Start("node-b");
        var c = Start("node-c");
        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(agents), () => $"settled; now {Holders()}");
        var (keptByA, keptByC, fromB) = (a.Held, c.Held, b.Held);

        await b.Stop.CancelAsync();
        await b.Run.WaitAsync(TimeSpan.FromSeconds(10));

        await Eventually.TrueAsync(() => EachAddressHeldOnceBy([a, c]), () => $"node-b's addresses moved; now {Holders()}");
        a.Held.Should().Contain(keptByA, "addresses of nodes that stay do not move");
        c.Held.Should().Contain(keptByC, "addresses of nodes that stay do not move");
        fromB.Should().OnlyContain(address => a.Held.Contains(address) || c.Held.Contains(address));
        (await Client.CoordinationV1.ListNamespacedLeaseAsync(WellKnown.NodeNamespace)).Items
            .Should().NotContain(l => l.Metadata.Name == "ipvs-node-node-b", "a clean stop deletes the presence Lease");
    }

    [Test]
    public async Task A_partitioned_holder_withdraws_before_another_node_takes_its_addresses_and_gets_them_back_when_it_returns()
    {
        var a = Start("node-a");
        var b = Start("node-b");
        var c = Start("node-c");
        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(agents), () => $"settled; now {Holders()}");
        var fromC = c.Held;
        var partitioned = DateTimeOffset.UtcNow;

        c.Network.Partitioned = true;

        await Eventually.TrueAsync(() => c.Held.Length == 0 && fromC.All(x => a.Held.Contains(x) || b.Held.Contains(x)), () => $"node-c's addresses moved; now {Holders()}");
        var withdrawn = c.History.Last(h => h.Held.Length == 0).At;
        // Only after the partition: before settling, the first node up held every address for a moment.
        var firstTaken = new[] { a, b }.SelectMany(n => n.History.Where(h => h.At > partitioned && h.Held.Intersect(fromC).Any()).Select(h => h.At)).Min();
        withdrawn.Should().BeBefore(firstTaken, "the partitioned holder withdraws before anyone else announces its addresses: no moment with two announcers");

        c.Network.Partitioned = false;

        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(agents) && c.Held.Length >= 5, () => $"node-c is back and the addresses spread again; now {Holders()}");
    }

    [Test]
    public async Task An_address_another_device_on_the_LAN_answers_for_is_held_by_nobody_until_the_device_lets_it_go()
    {
        var lan = new InMemoryNeighbourProber();
        var foreign = PhysicalAddress.Parse("02:00:00:00:0f:01");
        IPAddressValue[] answered = [Addresses[3], Addresses[17]];
        foreach (var address in answered)
        {
            lan.Hold(address, foreign);
        }
        var a = Start("node-a", lan);
        var b = Start("node-b", lan);
        var c = Start("node-c", lan);

        // Settled for every other address, and each answered one asked about again after that.
        await Eventually.TrueAsync(() => EachHeldOnceBy(Addresses.Except(answered), agents), () => $"the other addresses settle; now {Holders()}");
        var probedBefore = lan.Probed.Count(answered.Contains);
        var heldProbesBefore = lan.Probed.Count(x => !answered.Contains(x));
        await Eventually.TrueAsync(() => lan.Probed.Count(answered.Contains) >= probedBefore + 4, "the rounds keep asking the LAN about the answered addresses");

        agents.Should().OnlyContain(x => !x.History.Any(h => h.Held.Intersect(answered).Any()), "no node announces an address another device answers for, not even for a moment");
        // Four rounds asking about every held address would be 4 x 28 probes; a lagging renewal on a busy machine may move a few.
        lan.Probed.Count(x => !answered.Contains(x)).Should().BeLessThan(heldProbesBefore + 28, "a held address is asked about when it is about to be taken, not every round");

        lan.Hold(answered[0], null);
        lan.Hold(answered[1], null);

        await Eventually.TrueAsync(() => EachAddressHeldOnceBy([a, b, c]), () => $"once the device lets them go, the preferred nodes take them; now {Holders()}");
        agents.SelectMany(x => x.Conflicts).Should().Contain(now => now.Length > 0, "the node that would take them said they were answered elsewhere");
        agents.Should().OnlyContain(x => x.Conflicts.IsEmpty || x.Conflicts.Last().Length == 0, "and says so no more once they are taken");
    }

    [Test]
    public async Task Only_nodes_that_may_announce_an_address_hold_it_and_a_holder_that_may_no_longer_hands_it_over()
    {
        // externalTrafficPolicy: Local: only the nodes with endpoints may announce.
        var onlyBAndC = new HashSet<string> { "node-b", "node-c" };
        candidates = Addresses.ToDictionary(a => a, _ => new Candidacy(onlyBAndC));
        var a = Start("node-a");
        var b = Start("node-b");
        var c = Start("node-c");
        await Eventually.TrueAsync(() => EachAddressHeldOnceBy([b, c]), () => $"only node-b and node-c hold addresses; now {Holders()}");
        a.History.Should().NotContain(h => h.Held.Length > 0, "node-a may announce none of them, not even for a moment");

        // node-b's endpoints go: its addresses move to node-c, the only node left that may announce them.
        var onlyC = new HashSet<string> { "node-c" };
        candidates = Addresses.ToDictionary(x => x, _ => new Candidacy(onlyC));

        await Eventually.TrueAsync(() => EachAddressHeldOnceBy([c]), () => $"node-c holds every address; now {Holders()}");
    }
}
