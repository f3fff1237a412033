using System.Collections.Concurrent;
using System.Diagnostics;
using IpvsOperator.Addressing;
using IpvsOperator.LocalCluster;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// The layer 2 election at its default timings (lease 3 s, renew deadline 2 s, retry 0.5 s), three
/// agents on LocalCluster, for 30, 300 and 3,000 addresses: time to settle, spread, the API requests
/// per second in steady state, and, when one agent is cut off from the API as a crashed or
/// partitioned node would be, when it withdraws and when the others have taken every one of its
/// addresses; then the steady-state API requests at 3 and 30 nodes, for 30 and 3,000 addresses.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- election</c>.
/// </summary>
internal static class ElectionFailover
{
    private const string Namespace = Entities.WellKnown.NodeNamespace;
    private static readonly string[] Nodes = ["node-a", "node-b", "node-c"];

    /// <summary>The steady-state API load at 3 and 30 nodes × 3,000 addresses: it must not grow with the addresses.</summary>
    private static async Task MeasureScaleAsync(int nodes, int count)
    {
        await using var server = await LocalClusterServer.StartAsync();
        using var admin = server.CreateClient();
        await admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });
        var candidates = Enumerable.Range(0, count).ToDictionary(i => IPAddressValue.Parse($"10.{i / 65536}.{i / 256 % 256}.{i % 256}"), _ => new Candidacy(null));
        var clock = Stopwatch.StartNew();
        var agents = Enumerable.Range(1, nodes).Select(i => Start(server, $"node-{i:D2}", candidates, clock)).ToList();
        while (!Settled(agents, candidates.Keys) && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(50);
        }
        var settled = clock.Elapsed;
        var before = server.RequestCounts.ToDictionary(r => r.Key, r => r.Value);
        await Task.Delay(TimeSpan.FromSeconds(10));
        var made = server.RequestCounts.Select(r => (r.Key, Count: r.Value - before.GetValueOrDefault(r.Key))).Where(r => r.Count > 0).OrderByDescending(r => r.Count).ToList();
        var perSecond = made.Sum(r => r.Count) / 10.0;
        Console.WriteLine($"| {nodes} | {count:N0} | {settled.TotalSeconds:F1} s | {perSecond:F1} | {perSecond / nodes:F2} | {string.Join(", ", made.Select(r => $"{r.Key} {r.Count / 10.0:F1}"))} |");
        foreach (var agent in agents)
        {
            await agent.Stop.CancelAsync();
        }
        await Task.WhenAll(agents.Select(a => a.Run));
    }

    private sealed class Cutoff : DelegatingHandler
    {
        public volatile bool Cut;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Cut ? throw new HttpRequestException("cut off") : base.SendAsync(request, cancellationToken);
    }

    private sealed record Agent(string Name, AnnouncementElection Election, Cutoff Network, CancellationTokenSource Stop, ConcurrentQueue<(TimeSpan At, int Held, HashSet<IPAddressValue> Addresses)> Changes)
    {
        public Task Run { get; set; } = Task.CompletedTask;

        public HashSet<IPAddressValue> Held => Changes.LastOrDefault().Addresses ?? [];
    }

    public static async Task RunAsync()
    {
        Console.WriteLine("| addresses | settled after | per node (min-max) | API requests/s, steady | cut-off node withdraws after | its addresses all taken after | taken after withdrawn by |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var count in new[] { 30, 300, 3_000 })
        {
            await MeasureAsync(count);
        }
        Console.WriteLine();
        Console.WriteLine("| nodes | addresses | settled after | API requests/s, steady | per node | by request |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---|");
        foreach (var (nodes, count) in new[] { (3, 30), (3, 3_000), (30, 30), (30, 3_000) })
        {
            await MeasureScaleAsync(nodes, count);
        }
    }

    private static async Task MeasureAsync(int count)
    {
        await using var server = await LocalClusterServer.StartAsync();
        using var admin = server.CreateClient();
        await admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = Namespace } });
        var candidates = Enumerable.Range(0, count).ToDictionary(i => IPAddressValue.Parse($"10.{i / 65536}.{i / 256 % 256}.{i % 256}"), _ => new Candidacy(null));
        var clock = Stopwatch.StartNew();
        var agents = Nodes.Select(name => Start(server, name, candidates, clock)).ToList();

        while (!Settled(agents, candidates.Keys) && clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            await Task.Delay(20);
        }
        var settled = clock.Elapsed;
        var spread = agents.Select(a => a.Held.Count).ToList();

        var before = server.RequestCounts.Values.Sum();
        await Task.Delay(TimeSpan.FromSeconds(10));
        var perSecond = (server.RequestCounts.Values.Sum() - before) / 10.0;

        var victim = agents[1];
        var itsAddresses = victim.Held.ToHashSet();
        var cut = clock.Elapsed;
        victim.Network.Cut = true;
        var others = agents.Where(a => a != victim).ToList();
        while (!itsAddresses.All(x => others.Any(o => o.Held.Contains(x))) && clock.Elapsed - cut < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(10);
        }
        var withdrawn = victim.Changes.Where(c => c.At > cut && c.Held == 0).Select(c => c.At).DefaultIfEmpty(TimeSpan.MaxValue).Min();
        var firstTaken = others.SelectMany(o => o.Changes.Where(c => c.At > cut && c.Addresses.Overlaps(itsAddresses)).Select(c => c.At)).Min();
        var allTaken = others.SelectMany(o => o.Changes.Where(c => c.At > cut).Select(c => c.At)).Max();
        Console.WriteLine($"| {count:N0} | {settled.TotalSeconds:F2} s | {spread.Min()}-{spread.Max()} | {perSecond:F1} | {(withdrawn - cut).TotalSeconds:F2} s | {(allTaken - cut).TotalSeconds:F2} s | {(firstTaken - withdrawn).TotalSeconds:F2} s |");

        foreach (var agent in agents)
        {
            victim.Network.Cut = false;
            await agent.Stop.CancelAsync();
        }
        await Task.WhenAll(agents.Select(a => a.Run));
    }

    private static bool Settled(List<Agent> agents, IEnumerable<IPAddressValue> addresses) =>
        addresses.All(a => agents.Count(n => n.Held.Contains(a)) == 1 && agents.Single(n => n.Held.Contains(a)).Name == Rendezvous.Preferred(a, agents.Select(n => n.Name)));

    private static Agent Start(LocalClusterServer server, string name, Dictionary<IPAddressValue, Candidacy> candidates, Stopwatch clock)
    {
        var network = new Cutoff();
        var client = new Kubernetes(server.ClientConfiguration(), network);
        var election = new AnnouncementElection(ApiConnection.Of(client), name, new Layer2Options { Namespace = Namespace }, NullLogger.Instance);
        var agent = new Agent(name, election, network, new CancellationTokenSource(), new ConcurrentQueue<(TimeSpan, int, HashSet<IPAddressValue>)>());
        election.HeldChanged += held => agent.Changes.Enqueue((clock.Elapsed, held.Count, held.ToHashSet()));
        agent.Run = Task.Run(() => election.RunAsync(() => candidates, agent.Stop.Token));
        return agent;
    }
}
