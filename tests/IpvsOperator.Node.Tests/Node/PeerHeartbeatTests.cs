using IpvsOperator.Dataplane.Heartbeats;
using System.Collections.Concurrent;
using System.Net;
using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// The heartbeats between agents that keep the VIPs announced through an API server outage, and
/// never let two nodes announce one address: three agents on LocalCluster, exchanging real UDP
/// heartbeats on loopback through links a test can cut. (a) the API server down for everyone: no
/// address is withdrawn; (b) one node cut off from the API and its peers: it withdraws, then the
/// others take over; (c) one node's heartbeats lost while the API works: nothing moves, but an outage
/// then withdraws everything as without heartbeats; (d) one node cut off from the API only: it hears
/// its peers renew, withdraws, and they take over.
/// </summary>
[NonParallelizable]
public class PeerHeartbeatTests : LocalClusterFixture
{
    private static readonly byte[] Key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly IPAddressValue[] Addresses = [.. Enumerable.Range(1, 12).Select(i => IPAddressValue.Parse($"198.51.100.{i}"))];
    // Wider than production (3 s / 2 s / 500 ms) so a busy machine does not lose heartbeats for half a renew deadline.
    private static readonly Layer2Options Timings = new()
    {
        LeaseDuration = TimeSpan.FromSeconds(4) * Eventually.Scale,
        RenewDeadline = TimeSpan.FromSeconds(3) * Eventually.Scale,
        RetryPeriod = TimeSpan.FromMilliseconds(200) * Eventually.Scale,
    };

    private readonly Dictionary<IPAddressValue, Candidacy> candidates = Addresses.ToDictionary(a => a, _ => new Candidacy(null));
    private readonly List<Agent> agents = [];

    /// <summary>
    /// Fails every request while cut off, as a node that cannot reach the API server sees it; while
    /// <see cref="StallWatches"/>, the watches already open deliver nothing, as a TCP stream does
    /// whose acknowledgements a firewall drops: the agent's cache lags behind the Leases.
    /// </summary>
    private sealed class ApiLink : DelegatingHandler
    {
        public volatile bool Cut;
        public volatile bool StallWatches;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Cut)
            {
                throw new HttpRequestException("network unreachable (cut by the test)");
            }
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri?.Query.Contains("watch=true", StringComparison.Ordinal) == true)
            {
                var stalling = new StreamContent(new StallingStream(await response.Content.ReadAsStreamAsync(cancellationToken), this));
                foreach (var header in response.Content.Headers)
                {
                    stalling.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
                response.Content = stalling;
            }
            return response;
        }
    }

    /// <summary>Holds back what a watch read while its link stalls, and hands it over when the stall ends.</summary>
    private sealed class StallingStream(Stream inner, ApiLink link) : Stream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            while (link.StallWatches)
            {
                await Task.Delay(10, cancellationToken);
            }
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Real UDP on loopback; while cut, nothing goes out and whatever comes in is dropped.</summary>
    private sealed class PeerLink(UdpHeartbeatTransport udp) : IHeartbeatTransport
    {
        public volatile bool Cut;

        public IPEndPoint LocalEndPoint => udp.LocalEndPoint;

        public void Send(ReadOnlySpan<byte> packet, IPEndPoint destination)
        {
            if (!Cut)
            {
                udp.Send(packet, destination);
            }
        }

        public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            while (true)
            {
                var length = await udp.ReceiveAsync(buffer, cancellationToken);
                if (!Cut)
                {
                    return length;
                }
            }
        }

        public void Dispose() => udp.Dispose();
    }

    private sealed class Agent(string name, AnnouncementElection election, ApiLink api, PeerLink peers, IKubernetes client)
    {
        public string Name { get; } = name;
        public AnnouncementElection Election { get; } = election;
        public ApiLink Api { get; } = api;
        public PeerLink Peers { get; } = peers;
        public IKubernetes Client { get; } = client;
        public CancellationTokenSource Stop { get; } = new();
        public Task Run { get; set; } = Task.CompletedTask;
        public ConcurrentQueue<(DateTimeOffset At, IPAddressValue[] Held)> History { get; } = new();

        public IPAddressValue[] Held => History.LastOrDefault().Held ?? [];

        // Every change after a moment: what a test looks at to say "nothing was withdrawn" or "withdrawn before taken".
        public IEnumerable<(DateTimeOffset At, IPAddressValue[] Held)> Since(DateTimeOffset moment) => History.Where(h => h.At > moment);
    }

    [OneTimeSetUp]
    public async Task CreateNamespaceAsync() =>
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = WellKnown.NodeNamespace } });

    [TearDown]
    public async Task StopAgentsAsync()
    {
        Server.Faults.Clear();
        foreach (var agent in agents)
        {
            agent.Api.Cut = false;
            agent.Api.StallWatches = false;
            await agent.Stop.CancelAsync();
            await agent.Run.WaitAsync(TimeSpan.FromSeconds(30));
            agent.Election.Peers?.Dispose();
            agent.Stop.Dispose();
            agent.Client.Dispose();
        }
        agents.Clear();
        foreach (var lease in (await Client.CoordinationV1.ListNamespacedLeaseAsync(WellKnown.NodeNamespace)).Items)
        {
            await Client.CoordinationV1.DeleteNamespacedLeaseAsync(lease.Metadata.Name, WellKnown.NodeNamespace);
        }
    }

    private Agent Start(string name, bool heartbeats = true)
    {
        var api = new ApiLink();
        var client = new Kubernetes(Server.ClientConfiguration(), api);
        var peerLink = new PeerLink(new UdpHeartbeatTransport(new IPEndPoint(IPAddress.Loopback, 0)));
        var election = new AnnouncementElection(ApiConnection.Of(client), name, Timings, NullLogger.Instance)
        {
            Peers = heartbeats ? new PeerHeartbeats(name, Key, peerLink, NullLogger.Instance) : null,
        };
        var agent = new Agent(name, election, api, peerLink, client);
        election.HeldChanged += held => agent.History.Enqueue((DateTimeOffset.UtcNow, [.. held.Order()]));
        agent.Run = Task.Run(() => election.RunAsync(() => candidates, agent.Stop.Token));
        agents.Add(agent);
        return agent;
    }

    private bool EachAddressHeldOnceBy(IEnumerable<Agent> holders) =>
        Addresses.All(a => holders.Count(h => h.Held.Contains(a)) == 1
            && holders.Single(h => h.Held.Contains(a)).Name == Rendezvous.Preferred(a, holders.Select(h => h.Name)))
        && agents.Except(holders).All(a => a.Held.Length == 0);

    private string Holders() => string.Join("; ", agents.Select(a => $"{a.Name}: {a.Held.Length} ({a.Election.State})"));

    private async Task<Agent[]> ThreeSettledAsync()
    {
        Agent[] three = [Start("node-a"), Start("node-b"), Start("node-c")];
        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(three), () => $"each address held by exactly one node; now {Holders()}");
        // Every agent has heard every other (their Leases carry where to send).
        await Eventually.TrueAsync(() => three.All(a => three.Except([a]).All(b => a.Election.Peers!.Last(b.Name) is { State: PeerState.Renewing })), "every agent hears every other");
        return three;
    }

    /// <summary>Never two: at no recorded moment do two agents hold one address (each change is stamped when made).</summary>
    private void NeverTwoAnnouncers()
    {
        var changes = agents.SelectMany(a => a.History.Select(h => (h.At, Agent: a.Name, h.Held))).OrderBy(c => c.At).ToList();
        var now = new Dictionary<string, IPAddressValue[]>();
        foreach (var (at, agent, held) in changes)
        {
            now[agent] = held;
            var doubled = Addresses.Where(a => now.Values.Count(h => h.Contains(a)) > 1).ToList();
            doubled.Should().BeEmpty($"at {at:HH:mm:ss.fff} two nodes held {string.Join(", ", doubled)}; the changes:\n{string.Join("\n", changes.Select(c => $"{c.At:HH:mm:ss.fff} {c.Agent}: {string.Join(" ", c.Held.Select(h => h.ToString()[11..]))}"))}");
        }
    }

    [Test]
    public async Task A_cluster_wide_API_outage_withdraws_nothing_and_every_address_stays_with_its_holder()
    {
        var three = await ThreeSettledAsync();
        var before = three.ToDictionary(a => a.Name, a => a.Held);
        var outage = DateTimeOffset.UtcNow;

        // Every request answered 503, as during an etcd outage or a control-plane upgrade.
        Server.Faults.FailNext(int.MaxValue, status: HttpStatusCode.ServiceUnavailable);
        Server.CloseAllWatches();
        await Eventually.TrueAsync(() => three.All(a => a.Election.State == PeerState.Keeping), () => $"every node keeps its addresses without the API; now {Holders()}");
        // Several lease durations without the API (30 s in the kernel VM's test).
        var keptUntil = DateTimeOffset.UtcNow + 3 * Timings.LeaseDuration;
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > keptUntil || three.Any(a => a.Election.State != PeerState.Keeping), "three lease durations pass", 4 * Timings.LeaseDuration);
        three.Should().OnlyContain(a => a.Election.State == PeerState.Keeping, $"nobody withdraws while every peer confirms the outage ({Holders()})");

        Server.Faults.Clear();
        await Eventually.TrueAsync(() => three.All(a => a.Election.State == PeerState.Renewing), () => $"every node renews again; now {Holders()}");
        // A few rounds after the outage: still nothing moved (no stale Lease counted as a dead node).
        var settledAgain = DateTimeOffset.UtcNow + Timings.LeaseDuration;
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > settledAgain, "a lease duration passes", 2 * Timings.LeaseDuration);

        foreach (var agent in three)
        {
            agent.Since(outage).Should().BeEmpty($"{agent.Name} neither withdrew nor took anything during or after the outage");
            agent.Held.Should().Equal(before[agent.Name]);
        }
    }

    [Test]
    public async Task A_node_cut_off_from_the_API_and_its_peers_withdraws_before_the_others_take_over()
    {
        var three = await ThreeSettledAsync();
        var c = three[2];
        var fromC = c.Held;

        c.Api.Cut = true;
        c.Peers.Cut = true;

        await Eventually.TrueAsync(() => c.Held.Length == 0 && fromC.All(x => three[0].Held.Contains(x) || three[1].Held.Contains(x)), () => $"node-c's addresses moved; now {Holders()}");
        c.Election.State.Should().Be(PeerState.Withdrawn);
        NeverTwoAnnouncers();

        c.Api.Cut = false;
        c.Peers.Cut = false;
        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(three), () => $"node-c is back and the addresses spread again; now {Holders()}");
        NeverTwoAnnouncers();
    }

    [Test]
    public async Task A_node_back_from_a_partition_with_a_lagging_watch_does_not_announce_what_its_stale_cache_says_it_holds()
    {
        var three = await ThreeSettledAsync();
        var c = three[2];
        var fromC = c.Held;

        // Cut off from the API and its peers, and its watch stalls (the kernel VM's firewall does that to the TCP stream).
        c.Api.StallWatches = true;
        c.Api.Cut = true;
        c.Peers.Cut = true;
        await Eventually.TrueAsync(() => c.Held.Length == 0 && fromC.All(x => three[0].Held.Contains(x) || three[1].Held.Contains(x)), () => $"node-c's addresses moved; now {Holders()}");

        // Back, but its cache still says it holds its old addresses (its own last write of their Leases)
        // until the watch catches up, a few rounds later.
        c.Api.Cut = false;
        c.Peers.Cut = false;
        await Eventually.TrueAsync(() => c.Election.State == PeerState.Renewing, "node-c renews again");
        var rounds = DateTimeOffset.UtcNow + 5 * Timings.RetryPeriod;
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > rounds, "five rounds pass", 10 * Timings.RetryPeriod);
        c.Api.StallWatches = false;

        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(three), () => $"node-c is back and the addresses spread again; now {Holders()}");
        NeverTwoAnnouncers();
    }

    [Test]
    public async Task A_node_cut_off_from_the_API_only_hears_its_peers_renew_withdraws_and_they_take_over()
    {
        var three = await ThreeSettledAsync();
        var c = three[2];
        var fromC = c.Held;

        c.Api.Cut = true;

        await Eventually.TrueAsync(() => c.Held.Length == 0 && fromC.All(x => three[0].Held.Contains(x) || three[1].Held.Contains(x)), () => $"node-c's addresses moved; now {Holders()}");
        NeverTwoAnnouncers();
    }

    [Test]
    public async Task A_node_whose_heartbeats_are_lost_keeps_its_addresses_while_the_API_works_but_an_outage_then_withdraws_them_all()
    {
        var three = await ThreeSettledAsync();
        var c = three[2];
        var before = three.ToDictionary(a => a.Name, a => a.Held);
        var cut = DateTimeOffset.UtcNow;

        // A firewall drops UDP 7947 to and from node-c: the Leases still work.
        c.Peers.Cut = true;
        var quiet = DateTimeOffset.UtcNow + 2 * Timings.LeaseDuration;
        await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > quiet, "two lease durations pass", 3 * Timings.LeaseDuration);
        foreach (var agent in three)
        {
            agent.Since(cut).Should().BeEmpty($"{agent.Name}'s addresses do not move while the API works: the Leases decide");
            agent.Held.Should().Equal(before[agent.Name]);
        }

        // Then the API goes for everyone: node-c hears nobody, and the others do not hear node-c,
        // which (for all they know) may reach the API and take over. Everyone withdraws, as without heartbeats.
        Server.Faults.FailNext(int.MaxValue, status: HttpStatusCode.ServiceUnavailable);
        await Eventually.TrueAsync(() => three.All(a => a.Held.Length == 0 && a.Election.State == PeerState.Withdrawn), () => $"every node withdrew; now {Holders()}");
        NeverTwoAnnouncers();

        Server.Faults.Clear();
        c.Peers.Cut = false;
        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(three), () => $"the addresses are announced again; now {Holders()}");
        NeverTwoAnnouncers();
    }

    [Test]
    public async Task Without_heartbeats_an_API_outage_withdraws_every_address_as_before()
    {
        var three = await ThreeSettledAsyncWithoutHeartbeatsAsync();

        Server.Faults.FailNext(int.MaxValue, status: HttpStatusCode.ServiceUnavailable);

        await Eventually.TrueAsync(() => three.All(a => a.Held.Length == 0), () => $"every node withdrew; now {Holders()}");
    }

    private async Task<Agent[]> ThreeSettledAsyncWithoutHeartbeatsAsync()
    {
        Agent[] three = [Start("node-a", heartbeats: false), Start("node-b", heartbeats: false), Start("node-c", heartbeats: false)];
        await Eventually.TrueAsync(() => EachAddressHeldOnceBy(three), () => $"settled; now {Holders()}");
        return three;
    }
}
