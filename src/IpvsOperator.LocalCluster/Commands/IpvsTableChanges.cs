namespace IpvsOperator.Commands;

/// <summary>
/// What local mode prints of the IPVS table after a sync: the virtual services added or changed
/// since the last print, each with all its destinations, and the ones removed. The whole table at
/// every change drowned the output (1,324 lines in 6 minutes with 15 Services).
/// </summary>
internal sealed class IpvsTableChanges
{
    private const string Destination = "  ->";
    private Dictionary<string, string> shown = new(StringComparer.Ordinal);

    /// <summary>The lines to print for <paramref name="table"/> (as <c>IpvsTable.Format</c> writes it); null when no virtual service changed.</summary>
    public string? Next(string table)
    {
        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines.Take(2).ToList();
        var current = Blocks(lines.Skip(2));
        var changed = current.Where(b => shown.GetValueOrDefault(b.Key) != b.Value).Select(b => b.Value).ToList();
        var removed = shown.Keys.Where(k => !current.ContainsKey(k)).Select(k => $"{k} removed\n").ToList();
        shown = current;
        if (changed.Count == 0 && removed.Count == 0)
        {
            return null;
        }
        var columns = changed.Count == 0 ? string.Empty : string.Join(string.Empty, header.Select(h => h + "\n"));
        return columns + string.Concat(changed) + string.Concat(removed);
    }

    /// <summary>Each virtual service's lines (its own and its destinations'), by its protocol and address.</summary>
    private static Dictionary<string, string> Blocks(IEnumerable<string> lines)
    {
        var blocks = new Dictionary<string, string>(StringComparer.Ordinal);
        string? key = null;
        foreach (var line in lines)
        {
            if (!line.StartsWith(Destination, StringComparison.Ordinal))
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                key = $"{words[0],-4} {words[1]}";
                blocks[key] = string.Empty;
            }
            if (key is not null)
            {
                blocks[key] += line + "\n";
            }
        }
        return blocks;
    }
}
