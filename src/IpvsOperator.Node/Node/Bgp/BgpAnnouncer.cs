using System.Diagnostics;
using System.Threading.Channels;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Events;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Bgp;

/// <summary>
/// Keeps the BGP speaker (FRR) saying what this node's plan says, on a loop of its own: the sync
/// loop offers a plan after every sync and never waits for FRR (a reload takes up to a second). A
/// plan that renders the configuration applied last writes nothing; the running configuration is
/// checked every <see cref="BgpOptions.VerifyPeriod"/>. The sessions are read every
/// <see cref="BgpOptions.SessionPoll"/> into the node's status, the metrics, and Events on the Node
/// when a session comes up or goes down.
/// </summary>
internal sealed class BgpAnnouncer(IBgpSpeaker speaker, BgpOptions options, EventRecorder events, Func<V1Node> thisNode, Action changed, ILogger logger, TimeProvider clock)
{
    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Dictionary<string, bool> wasEstablished = [];
    private readonly HashSet<string> published = [];
    private BgpPlan? offered;
    private BgpPlan? applied;
    private string? appliedText;
    private DateTimeOffset nextVerify = DateTimeOffset.MinValue;
    private IReadOnlyList<BgpSessionState> sessions = [];
    private IPVSNodeBgp status = new();
    private const string ReadProblem = "the BGP sessions cannot be read from FRR";
    private string? problem;
    private int failures;

    /// <summary>This node's BGP sessions and announcements, for its IPVSNode.</summary>
    public IPVSNodeBgp Status => Volatile.Read(ref status);

    /// <summary>The VIPs this node advertises now: in the configuration FRR holds, not withdrawn, and some session established.</summary>
    public IReadOnlySet<IPAddressValue> Announcing =>
        Volatile.Read(ref applied) is { Withdrawn: null } plan
        && Volatile.Read(ref sessions).Any(s => s.IsEstablished && plan.Peers.Any(p => p.Peering is not null && p.Address == s.Peer))
            ? plan.Announcements.Select(a => a.Address).ToHashSet()
            : [];

    /// <summary>Plans applied (not those that changed nothing).</summary>
    public int Applies { get; private set; }

    /// <summary>Applies that failed since the last one that succeeded (FRR unreachable or refusing).</summary>
    public int FailuresInARow => Volatile.Read(ref failures);

    /// <summary>The plan after a sync; returns at once.</summary>
    public void Offer(BgpPlan plan)
    {
        Volatile.Write(ref offered, plan);
        wake.Writer.TryWrite(true);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await ApplyOfferedAsync();
                var reading = Stopwatch.StartNew();
                await ReadSessionsAsync(cancellationToken);
                var wait = SessionReadPacing.Next(options, failures, AnySessionDown(), reading.Elapsed);
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timer.CancelAfter(wait);
                try
                {
                    await wake.Reader.WaitToReadAsync(timer.Token);
                    wake.Reader.TryRead(out _);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    // The poll came round.
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: WithdrawAsync follows.
        }
    }

    /// <summary>Whether a peer in the configuration FRR holds has no established session.</summary>
    private bool AnySessionDown() =>
        Volatile.Read(ref applied) is { } plan
        && plan.Peers.Any(p => p.Peering is not null && !Volatile.Read(ref sessions).Any(s => s.Peer == p.Address && s.IsEstablished));

    /// <summary>
    /// Before the agent stops: FRR keeps the sessions but announces nothing, so routers move the
    /// traffic to other nodes while this node's kernel still serves what reaches it.
    /// </summary>
    public async Task WithdrawAsync(string why)
    {
        // Said in every case: whoever reads the log of a stopped node wants to know its routes went.
        switch (Volatile.Read(ref applied))
        {
            case null or { Announcements.Count: 0 }:
                logger.LogInformation("BGP: nothing to withdraw ({Why}): this node announced no route", why);
                return;
            case { Withdrawn: { } already }:
                logger.LogInformation("BGP: nothing to withdraw ({Why}): the routes were withdrawn already ({Already})", why, already);
                return;
            case { } plan:
                Offer(plan with { Withdrawn = why });
                await ApplyOfferedAsync();
                if (Volatile.Read(ref applied)?.Withdrawn == why)
                {
                    logger.LogInformation("BGP: withdrew {Prefixes} ({Why})", Prefixes(plan.Prefixes), why);
                }
                else
                {
                    logger.LogError("BGP: could not withdraw {Prefixes} ({Why}): {Problem}; routers keep them until the sessions end", Prefixes(plan.Prefixes), why, problem);
                }
                return;
        }
    }

    private async Task ApplyOfferedAsync()
    {
        if (Volatile.Read(ref offered) is not { } plan)
        {
            return;
        }
        string text;
        try
        {
            text = plan.Render();
        }
        catch (ArgumentException error)
        {
            SetProblem($"the BGP configuration cannot be rendered: {error.Message}");
            return;
        }
        var verify = clock.GetUtcNow() >= nextVerify;
        if (text == appliedText && !verify && failures == 0)
        {
            Volatile.Write(ref applied, plan); // same text; the plan's peer problems may differ
            return;
        }
        var started = Stopwatch.GetTimestamp();
        try
        {
            var wrote = await Task.Run(() => speaker.Apply(text));
            NodeMetrics.BgpApplies.WithLabels(wrote ? "applied" : "unchanged").Inc();
            if (wrote)
            {
                Applies++;
                NodeMetrics.BgpApplyDuration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                if (appliedText == text)
                {
                    logger.LogWarning("BGP: FRR's running configuration had drifted from the one applied (FRR restarted, or changed by hand); applied again");
                }
            }
            appliedText = text;
            nextVerify = clock.GetUtcNow() + options.VerifyPeriod;
            LogWithdrawal(Volatile.Read(ref applied), plan);
            Volatile.Write(ref applied, plan);
            NodeMetrics.BgpPrefixes.Set(plan.Prefixes);
            failures = 0;
            SetProblem(null);
        }
        catch (Exception error) when (error is InvalidOperationException or IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            failures++;
            NodeMetrics.BgpApplies.WithLabels("failed").Inc();
            SetProblem($"FRR refused or could not be reached: {error.Message}");
        }
        Publish();
    }

    /// <summary>Said when the node starts or stops announcing everything, not on every apply.</summary>
    private void LogWithdrawal(BgpPlan? before, BgpPlan now)
    {
        if (now.Withdrawn is { } why && before?.Withdrawn != why)
        {
            logger.LogWarning("BGP: this node announces none of its {Prefixes}: {Why}", Prefixes(now.Announcements.Select(a => a.Prefix).Distinct().Count()), why);
        }
        else if (now.Withdrawn is null && before?.Withdrawn is not null)
        {
            logger.LogInformation("BGP: this node announces its {Prefixes} prefixes again", now.Prefixes);
        }
    }

    /// <summary>
    /// The sessions as FRR reports them, read while applying fails too: a reload that ran past its bound
    /// on a loaded node may still have changed FRR, and the sessions of before would go on saying
    /// Established for a peer FRR now refuses (seen in the kernel VM under load, for 12 minutes). While
    /// applying fails, that failure stays the problem shown.
    /// </summary>
    private async Task ReadSessionsAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref applied) is null && failures == 0)
        {
            return;
        }
        try
        {
            sessions = await Task.Run(speaker.ReadSessions, cancellationToken);
            if (problem?.StartsWith(ReadProblem, StringComparison.Ordinal) == true)
            {
                SetProblem(null);
            }
        }
        catch (Exception error) when (error is InvalidOperationException or IOException or System.ComponentModel.Win32Exception or System.Text.Json.JsonException)
        {
            if (failures == 0)
            {
                SetProblem($"{ReadProblem}: {error.Message}");
            }
            sessions = [];
        }
        await RecordTransitionsAsync(cancellationToken);
        Publish();
    }

    /// <summary>An Event on the Node when a session comes up or goes down, and when a peer cannot be configured.</summary>
    private async Task RecordTransitionsAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref applied) is not { } plan)
        {
            return;
        }
        foreach (var peer in plan.Peers)
        {
            var session = sessions.FirstOrDefault(s => s.Peer == peer.Address);
            var up = peer.Peering is not null && session?.IsEstablished == true;
            var known = wasEstablished.TryGetValue(peer.Name, out var before);
            wasEstablished[peer.Name] = up;
            if (known && before == up)
            {
                continue;
            }
            if (up || known || peer.Problem is not null)
            {
                logger.Log(up ? LogLevel.Information : LogLevel.Warning, "BGP session with BGPPeer {Peer} ({Address}) is {State}{Why}",
                    peer.Name, peer.Address, StateOf(peer, session), up ? string.Empty : $": {Why(peer, session)}");
            }
            if (up)
            {
                await events.RecordAsync(thisNode(), EventType.Normal, "BgpSessionEstablished",
                    $"BGP session with BGPPeer {peer.Name} ({peer.Address}) established: advertising {Prefixes(session!.PrefixesAdvertised)}", cancellationToken);
            }
            else if (known || peer.Problem is not null)
            {
                await events.RecordAsync(thisNode(), EventType.Warning, "BgpSessionDown",
                    $"BGP session with BGPPeer {peer.Name} ({peer.Address?.ToString() ?? "no address"}) is {StateOf(peer, session)}: {Why(peer, session)}", cancellationToken);
            }
        }
        foreach (var gone in wasEstablished.Keys.Where(name => plan.Peers.All(p => p.Name != name)).ToList())
        {
            wasEstablished.Remove(gone);
        }
    }

    /// <summary>The status and the metrics from the plan applied and the sessions read; the agent is told when they change.</summary>
    private void Publish()
    {
        var plan = Volatile.Read(ref applied) ?? Volatile.Read(ref offered);
        if (plan is null)
        {
            return;
        }
        var entries = plan.Peers.Select(peer =>
        {
            var session = sessions.FirstOrDefault(s => s.Peer == peer.Address);
            var state = StateOf(peer, session);
            var prefixes = peer.Peering is not null && session is { IsEstablished: true } ? session.PrefixesAdvertised : 0;
            return new IPVSNodeBgpSession
            {
                Peer = peer.Name,
                Address = peer.Address?.ToString(),
                State = state,
                PrefixesAdvertised = prefixes,
                Bfd = peer.Peering is not null ? session?.Bfd : null,
                Message = state == BgpSessionState.Established ? null : Why(peer, session),
                Summary = state == BgpSessionState.Established ? $"{peer.Name}: {state}, {Prefixes(prefixes)}" : $"{peer.Name}: {state}",
            };
        }).Take(64).ToList();
        var next = new IPVSNodeBgp
        {
            Established = $"{entries.Count(e => e.State == BgpSessionState.Established)}/{entries.Count}",
            PrefixesAnnounced = plan.Prefixes,
            Withdrawn = plan.Withdrawn,
            Problem = problem,
            Summary = entries.Count > 0 ? string.Join("; ", entries.Select(e => e.Summary)) : null,
            Sessions = entries,
        };
        foreach (var gone in published.Where(name => entries.All(e => e.Peer != name)).ToList())
        {
            NodeMetrics.BgpSessionUp.RemoveLabelled(gone);
            NodeMetrics.BgpPrefixesAdvertised.RemoveLabelled(gone);
            NodeMetrics.BgpUpdatesSent.RemoveLabelled(gone);
            published.Remove(gone);
        }
        foreach (var entry in entries)
        {
            NodeMetrics.BgpSessionUp.WithLabels(entry.Peer).Set(entry.State == BgpSessionState.Established ? 1 : 0);
            NodeMetrics.BgpPrefixesAdvertised.WithLabels(entry.Peer).Set(entry.PrefixesAdvertised);
            NodeMetrics.BgpUpdatesSent.WithLabels(entry.Peer).Set(sessions.FirstOrDefault(s => s.Peer.ToString() == entry.Address)?.UpdatesSent ?? 0);
            published.Add(entry.Peer);
        }
        if (!Same(status, next))
        {
            Volatile.Write(ref status, next);
            changed();
        }
    }

    private static string StateOf(PlannedPeer peer, BgpSessionState? session) =>
        peer.Peering is null ? "NotConfigured" : session?.State ?? "Unknown";

    private static string Why(PlannedPeer peer, BgpSessionState? session) =>
        peer.Problem
        ?? session?.LastError
        ?? (session is null
            ? "FRR does not report the session yet"
            : peer.Peering?.Password is not null
                ? "no BGP OPEN from the peer yet: it is unreachable, not configured for this node, or its password differs (TCP MD5 drops the segments silently)"
                : "no BGP OPEN from the peer yet: it is unreachable or not configured for this node");

    private void SetProblem(string? now)
    {
        if (now == problem)
        {
            return;
        }
        if (now is null)
        {
            logger.LogInformation("BGP: FRR answers again");
        }
        else
        {
            logger.LogError("BGP: {Problem}; retrying", now);
        }
        problem = now;
        Publish();
    }

    private static bool Same(IPVSNodeBgp a, IPVSNodeBgp b) =>
        a.Established == b.Established && a.PrefixesAnnounced == b.PrefixesAnnounced && a.Withdrawn == b.Withdrawn && a.Problem == b.Problem
        && (a.Sessions ?? []).Count == (b.Sessions ?? []).Count
        && (a.Sessions ?? []).Zip(b.Sessions ?? []).All(p => p.First.Peer == p.Second.Peer && p.First.State == p.Second.State
            && p.First.PrefixesAdvertised == p.Second.PrefixesAdvertised && p.First.Bfd == p.Second.Bfd && p.First.Message == p.Second.Message);

    private static string Prefixes(int count) => count == 1 ? "1 prefix" : $"{count} prefixes";
}
