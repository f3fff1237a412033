using IpvsOperator.Dataplane;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// Keeps the kernel's connection sync daemons as <see cref="ConnectionSyncOptions"/> says, on every
/// sync: reads which run, starts a missing one, restarts one that runs with another interface or sync
/// id (this node's namespace has room for one of each role, and the flag says which). A daemon that
/// cannot start is a <see cref="Problem"/>, never a failed sync: the node serves without it, only a
/// failover loses connections. Nothing stops them when the agent stops: a backup keeps receiving
/// and a master keeps sending while the agent restarts, so a failover during a rollout keeps its
/// connections too.
/// </summary>
internal sealed class ConnectionSyncDaemons(IConnectionSync sync, ConnectionSyncOptions options, ILogger logger)
{
    private string? reportedProblem;

    /// <summary>Why a daemon does not run as asked, as last found (null: both run).</summary>
    public string? Problem { get; private set; }

    /// <summary>The roles that run as asked, as last found.</summary>
    public IReadOnlySet<SyncDaemonRole> Running { get; private set; } = new HashSet<SyncDaemonRole>();

    /// <summary>Connection entries received from other nodes, as last counted (null before a count, or when the kernel's table cannot be read).</summary>
    public int? SyncedConnections { get; private set; }

    public ConnectionSyncOptions Options => options;

    /// <summary>Brings the daemons to what is asked; counts the synced entries when <paramref name="count"/>. Returns the writes made.</summary>
    public int Ensure(bool count)
    {
        var writes = 0;
        var problems = new List<string>();
        var running = new HashSet<SyncDaemonRole>();
        try
        {
            var found = sync.ListDaemons();
            foreach (var wanted in options.Daemons)
            {
                var current = found.FirstOrDefault(d => d.Role == wanted.Role);
                if (current == wanted)
                {
                    running.Add(wanted.Role);
                    continue;
                }
                try
                {
                    if (current is not null)
                    {
                        logger.LogInformation("the IPVS sync {Role} runs as {Current}; restarting it as {Wanted}", Name(wanted.Role), current, wanted);
                        sync.StopDaemon(wanted.Role);
                        writes++;
                    }
                    sync.StartDaemon(wanted);
                    writes++;
                    running.Add(wanted.Role);
                    logger.LogInformation("started the IPVS connection sync {Daemon}", wanted);
                }
                catch (DataplaneException error)
                {
                    problems.Add(error.Message); // names the request: the daemon, its interface and sync id
                }
                catch (ArgumentException error)
                {
                    problems.Add($"cannot start the IPVS connection sync {wanted}: {error.Message}");
                }
            }
        }
        catch (DataplaneException error)
        {
            problems.Add($"cannot list the IPVS connection sync daemons: {error.Message}");
        }
        Running = running;
        Problem = problems.Count == 0 ? null : string.Join("; ", problems);
        if (count)
        {
            SyncedConnections = CountSynced();
        }
        Publish();
        return writes;
    }

    private int? CountSynced()
    {
        try
        {
            return sync.CountSyncedConnections();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            logger.LogDebug("cannot read the synced connection entries: {Error}", error.Message);
            return null;
        }
    }

    /// <summary>The metrics, and a problem logged once when it starts or changes (and its end).</summary>
    private void Publish()
    {
        foreach (var role in Enum.GetValues<SyncDaemonRole>())
        {
            NodeMetrics.ConnectionSyncDaemons.WithLabels(Name(role)).Set(Running.Contains(role) ? 1 : 0);
        }
        if (SyncedConnections is { } synced)
        {
            NodeMetrics.SyncedConnections.Set(synced);
        }
        if (Problem == reportedProblem)
        {
            return;
        }
        if (Problem is null)
        {
            logger.LogInformation("the IPVS connection sync daemons run again on {Interface} (sync id {SyncId})", options.Interface, options.SyncId);
        }
        else
        {
            logger.LogWarning("{Problem}. Connections do not survive a layer 2 failover to or from this node until that is mended; it serves the rest as before", Problem);
        }
        reportedProblem = Problem;
    }

    private static string Name(SyncDaemonRole role) => role.ToString().ToLowerInvariant();
}
