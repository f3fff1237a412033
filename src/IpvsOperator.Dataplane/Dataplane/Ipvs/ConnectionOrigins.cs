namespace IpvsOperator.Dataplane.Ipvs;

/// <summary>
/// The kernel's /proc/net/ip_vs_conn_sync: the connection table as /proc/net/ip_vs_conn shows it,
/// with one more column, Origin, second to last: <c>SYNC</c> for an entry a backup daemon made from
/// another director's message, <c>LOCAL</c> for one this node scheduled. The only place the kernel
/// tells them apart; it keeps no counter of sync messages sent or received.
/// </summary>
internal static class ConnectionOrigins
{
    /// <summary>The table of the reading process's network namespace (the host's, for the agent with host networking).</summary>
    public const string OwnNamespaceTable = "/proc/self/net/ip_vs_conn_sync";

    private const string Synced = "SYNC";

    /// <summary>Entries whose Origin is SYNC; the header line and lines of another shape count nothing.</summary>
    public static int CountSynced(TextReader table)
    {
        var count = 0;
        while (table.ReadLine() is { } line)
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 2 && fields[^2] == Synced)
            {
                count++;
            }
        }
        return count;
    }
}
