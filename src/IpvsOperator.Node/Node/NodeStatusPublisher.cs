using System.Threading.Channels;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Rbac;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// Keeps this node's <see cref="V1Alpha1IPVSNode"/> up to date: the sync loop offers the status
/// after every sync and never waits; one writer publishes the latest offer when it differs from
/// what was written (sync times and connection counts aside), on average at most once per <see cref="MinInterval"/>, and
/// at least once per <see cref="Refresh"/> so that the last sync time stays current. Two writes may
/// follow each other at once (<see cref="Burst"/>): an agent's first sync finds no VIPs, and the one
/// after it, with the Services the watches brought, is shown at once instead of five seconds later. The object is made on
/// first use, owned by the node's Node object so that it goes when the Node goes. A failed write is
/// logged once and retried with the next offer.
/// </summary>
// Its own IPVSNode (made on first use, owned by its Node, whose uid it reads).
[EntityRbac(typeof(V1Alpha1IPVSNode), Verbs = RbacVerb.Get | RbacVerb.Create | RbacVerb.Update, Component = "node")]
[GenericRbac(Groups = [WellKnown.Group], Resources = ["ipvsnodes/status"], Verbs = RbacVerb.Update, Component = "node")]
[EntityRbac(typeof(V1Node), Verbs = RbacVerb.Get, Component = "node")]
// Each agent writes its own IPVSNode only, as a kubelet its own Node.
[WriteRule(typeof(V1Alpha1IPVSNode), "variables.written.metadata.name == variables.nodeName", Verbs = RbacVerb.Create | RbacVerb.Update, Component = "node",
    Message = "a node agent writes only the IPVSNode of its own node",
    MessageExpression = "'node ' + variables.nodeName + ' may write only IPVSNode ' + variables.nodeName + ', not ' + variables.written.metadata.name")]
internal sealed class NodeStatusPublisher(ApiConnection api, string nodeName, IPVSNodeSpec spec, ILogger logger, TimeProvider? time = null)
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(5);

    private string? writtenVersion;

    /// <summary>The resourceVersion of the last status written, set once that write is counted in <see cref="Writes"/>.</summary>
    public string? WrittenVersion => Volatile.Read(ref writtenVersion);
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(60);
    public const int Burst = 2;

    private readonly EntityClient<V1Alpha1IPVSNode> objects = new(api);
    private readonly EntityClient<V1Node> nodes = new(api);
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private readonly Channel<bool> offered = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private IPVSNodeStatus? latest;
    private IPVSNodeStatus? written;
    private DateTimeOffset writtenAt = DateTimeOffset.MinValue;
    private double allowance = Burst;
    private DateTimeOffset allowanceAt = DateTimeOffset.MinValue;
    private V1Alpha1IPVSNode? current;
    private string? failing;

    /// <summary>Writes so far (tests and the benchmark count them: never one per VIP).</summary>
    public int Writes { get; private set; }

    /// <summary>The last offer the writer weighed, written or not (tests wait for it).</summary>
    public IPVSNodeStatus? Considered { get; private set; }

    /// <summary>The status after a sync; returns at once.</summary>
    public void Offer(IPVSNodeStatus status)
    {
        Volatile.Write(ref latest, status);
        offered.Writer.TryWrite(true);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var _ in offered.Reader.ReadAllAsync(cancellationToken))
            {
                var wait = WaitForAllowance();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, clock, cancellationToken);
                }
                if (Volatile.Read(ref latest) is not { } status)
                {
                    continue;
                }
                if (written is null || !SameContent(written, status) || clock.GetUtcNow() - writtenAt >= Refresh)
                {
                    await WriteAsync(status, cancellationToken);
                }
                Considered = status;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>A token bucket: one write's worth comes back every <see cref="MinInterval"/>, up to <see cref="Burst"/>.</summary>
    private TimeSpan WaitForAllowance()
    {
        var now = clock.GetUtcNow();
        if (allowanceAt != DateTimeOffset.MinValue)
        {
            allowance = Math.Min(Burst, allowance + ((now - allowanceAt) / MinInterval));
        }
        allowanceAt = now;
        return allowance >= 1 ? TimeSpan.Zero : (1 - allowance) * MinInterval;
    }

    private async Task WriteAsync(IPVSNodeStatus status, CancellationToken cancellationToken)
    {
        try
        {
            current ??= await EnsureAsync(cancellationToken);
            current.Status = status;
            var replaced = await objects.ReplaceStatusAsync(current, cancellationToken);
            written = status;
            writtenAt = clock.GetUtcNow();
            allowance -= 1;
            Writes++;
            current = replaced; // after the count: whoever sees this version sees its write counted
            Volatile.Write(ref writtenVersion, replaced.Metadata?.ResourceVersion);
            if (failing is not null)
            {
                logger.LogInformation("the IPVSNode {Node} is written again", nodeName);
                failing = null;
            }
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested && error is ApiStatusException or HttpRequestException or IOException or TimeoutException)
        {
            current = null; // read afresh next time (changed or deleted meanwhile)
            if (failing != error.Message)
            {
                logger.LogWarning("cannot write the IPVSNode {Node}: {Error}; retrying with the next sync", nodeName, error.Message);
                failing = error.Message;
            }
        }
    }

    /// <summary>This node's object, made (owned by the Node) when missing and its spec brought up to date.</summary>
    private async Task<V1Alpha1IPVSNode> EnsureAsync(CancellationToken cancellationToken)
    {
        var existing = await objects.GetAsync(null, nodeName, cancellationToken);
        if (existing is null)
        {
            return await objects.CreateAsync(new V1Alpha1IPVSNode
            {
                Metadata = new V1ObjectMeta
                {
                    Name = nodeName,
                    Labels = new Dictionary<string, string> { ["app.kubernetes.io/part-of"] = "ipvs-operator" },
                    OwnerReferences = await OwnerAsync(cancellationToken) is { } owner ? [owner] : null,
                },
                Spec = spec,
            }, cancellationToken);
        }
        var changed = false;
        if (ApiJson.Serialize(existing.Spec) != ApiJson.Serialize(spec))
        {
            existing.Spec = spec; // a new version or new flags after a restart
            changed = true;
        }
        if (existing.Metadata.OwnerReferences?.Any(r => r.Kind == "Node") != true && await OwnerAsync(cancellationToken) is { } adopted)
        {
            // Made before its Node was there (or by an older agent): owned from now on.
            existing.Metadata.OwnerReferences = [.. existing.Metadata.OwnerReferences ?? [], adopted];
            changed = true;
        }
        return changed ? await objects.ReplaceAsync(existing, cancellationToken) : existing;
    }

    /// <summary>A reference to this node's Node object, so that the IPVSNode goes with it; null where there is none (local mode).</summary>
    private async Task<V1OwnerReference?> OwnerAsync(CancellationToken cancellationToken) =>
        await nodes.GetAsync(null, nodeName, cancellationToken) is { } node
            ? new V1OwnerReference { ApiVersion = "v1", Kind = "Node", Name = nodeName, Uid = node.Metadata.Uid }
            : null;

    /// <summary>The same but for when and how the last sync ran: no write just because a periodic sync ran.</summary>
    private static bool SameContent(IPVSNodeStatus a, IPVSNodeStatus b) => Content(a) == Content(b);

    private static string Content(IPVSNodeStatus status)
    {
        var copy = ApiJson.Copy(status);
        copy.LastSuccessfulSyncTime = null;
        // Connection counts change with every client: they ride along with the writes, never cause one.
        copy.ConnectionsSampledAt = null;
        foreach (var destination in (copy.Vips ?? []).SelectMany(v => v.Services ?? []).SelectMany(s => s.Destinations ?? []))
        {
            (destination.ActiveConnections, destination.InactiveConnections) = (null, null);
        }
        if (copy.LastSync is { } sync)
        {
            sync.Time = null;
            sync.DurationMilliseconds = 0;
            sync.Trigger = null;
            sync.KernelWrites = 0;
        }
        return ApiJson.Serialize(copy);
    }
}
