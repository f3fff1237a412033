using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Heartbeats;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Events;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Announcement;

/// <summary>
/// Layer 2 announcement on one node, wired together: the election decides which VIPs this node
/// holds, the announcing interface makes the LAN send their traffic here, and the status shows on the
/// Services who announces them. The kernel follows the election on the election's loop; the API
/// writes happen on the agent's sync loop (<see cref="PublishAsync"/>).
/// </summary>
internal sealed class Layer2Announcement
{
    private readonly AnnouncementElection election;
    private readonly AnnouncingInterface announcingInterface;
    private readonly AnnouncementStatus status;
    private readonly ApiConnection api;
    private readonly string nodeName;
    private readonly Layer2Options options;
    private readonly ILoggerFactory loggers;
    private readonly TimeProvider clock;
    private volatile ServedServices served = ServedServices.Empty;

    /// <param name="changed">Called when the held addresses or the problem change: the agent publishes them after its next sync.</param>
    /// <param name="canSourceNat">Whether this node's source NAT works (else it announces only addresses that need none).</param>
    public Layer2Announcement(ApiConnection api, NodeDataplane dataplane, string nodeName, Layer2Options options, EventRecorder events,
        Action changed, Func<bool> canSourceNat, ILoggerFactory loggers, TimeProvider clock)
    {
        options.Validate();
        (this.api, this.nodeName, this.options, this.loggers, this.clock) = (api, nodeName, options, loggers, clock);
        // A claimed address on the announcing interface is a VIP: ours to remove when not held.
        announcingInterface = new AnnouncingInterface(dataplane, options, address => served.Allocated.Contains(address), loggers.CreateLogger<AnnouncingInterface>(), clock);
        election = new AnnouncementElection(api, nodeName, options, loggers.CreateLogger<AnnouncementElection>(), clock)
        {
            CanAnnounce = announcingInterface.Ready,
            CanSourceNat = canSourceNat,
            AnsweredElsewhere = announcingInterface.AnsweredElsewhereAsync,
        };
        status = new AnnouncementStatus(api, events, nodeName, loggers.CreateLogger<AnnouncementStatus>(), clock);
        election.HeldChanged += held =>
        {
            announcingInterface.Apply(held);
            status.Update(held);
            changed();
        };
        election.Renewed += announcingInterface.Apply;
        election.Took += status.RecordTakeover;
        election.ConflictsChanged += conflicts =>
        {
            status.UpdateConflicts(conflicts);
            changed();
        };
        announcingInterface.ProblemChanged += _ => changed();
    }

    /// <summary>The addresses this node announces now.</summary>
    public IReadOnlySet<IPAddressValue> Held => status.Held;

    /// <summary>Whether this node announces the Service's first address, and so speaks for the Service in its status.</summary>
    public bool SpeaksFor(V1Service service) => status.SpeaksFor(service);

    /// <summary>Why the VIPs cannot be announced now (null: they can).</summary>
    public string? Problem => announcingInterface.Problem;

    /// <summary>
    /// After every completed sync, what the node serves: the election stands for its VIPs from its
    /// next round, and the announcing interface removes only claimed addresses.
    /// </summary>
    public void Offer(ServedServices served) => this.served = served;

    /// <summary>
    /// Takes part in the election until cancelled, then steps down (a clean stop hands the
    /// addresses over at once), standing for the VIPs of the last <see cref="Offer"/>.
    /// </summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.Run(async () =>
        {
            using var peers = await PeersAsync(cancellationToken);
            election.Peers = peers;
            await election.RunAsync(Candidates, cancellationToken);
        }, CancellationToken.None);

    /// <summary>The VIPs whose pool announces them on layer 2, with who may announce each.</summary>
    private IReadOnlyDictionary<IPAddressValue, Candidacy> Candidates() =>
        served.Announced.Where(a => a.Value.Announce.Layer2).ToDictionary(a => a.Key, a => new Candidacy(a.Value.Eligible, a.Value.NeedsSourceNat));

    /// <summary>The heartbeats with the other agents, when a heartbeat address is set: listening before the first renewal says where.</summary>
    private async Task<PeerHeartbeats?> PeersAsync(CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger<PeerHeartbeats>();
        if (options.HeartbeatAddress is null && options.SingleNode)
        {
            logger.LogDebug("no peer heartbeats: this is the only node");
            return null;
        }
        if (options.HeartbeatAddress is not { } address)
        {
            logger.LogWarning("no --heartbeat-address: without peer heartbeats an API server outage longer than {Deadline} withdraws every VIP", options.RenewDeadline);
            return null;
        }
        try
        {
            var key = await PeerKey.EnsureAsync(api, options.Namespace, logger, clock, cancellationToken);
            return new PeerHeartbeats(nodeName, key, new UdpHeartbeatTransport(new System.Net.IPEndPoint(address, options.HeartbeatPort)), logger, clock);
        }
        catch (InvalidOperationException error)
        {
            logger.LogError("{Error}: running without peer heartbeats (an API server outage withdraws every VIP)", error.Message);
            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null; // stopping before the key could be read: the election stops at once too
        }
    }

    /// <summary>
    /// Shows on the Services who announces their addresses and the takeovers since the last call,
    /// and clears it from the <paramref name="services"/> announced no longer.
    /// </summary>
    public Task PublishAsync(IReadOnlyDictionary<IPAddressValue, AnnouncedAddress> announced, IEnumerable<V1Service> services, CancellationToken cancellationToken) =>
        status.PublishAsync(announced, services, announcingInterface.Interface, cancellationToken);
}
