using System.Globalization;
using System.Text;
using IpvsOperator.Entities;

namespace IpvsOperator.Inspection;

/// <summary><c>kubectl ipvs pools</c>: each pool's use per family, its claims and how it is announced.</summary>
internal static class PoolUsageReport
{
    private static readonly string[] Header = ["POOL", "READY", "IPV4 USED/CAPACITY", "IPV6 USED/CAPACITY", "CLAIMS", "ANNOUNCE"];

    public static string Render(ClusterView view)
    {
        var rows = new List<string[]> { Header };
        foreach (var pool in view.Pools.OrderBy(p => p.Metadata?.Name, StringComparer.Ordinal))
        {
            var name = pool.Metadata?.Name ?? string.Empty;
            var ready = pool.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status ?? "Unknown";
            var claims = view.Allocations.Count(a => a.Spec?.Pool == name);
            rows.Add([name, ready, Used(pool.Status?.IPv4), Used(pool.Status?.IPv6), claims.ToString(CultureInfo.InvariantCulture),
                string.Join(",", pool.Spec?.Announce?.Modes ?? new PoolAnnouncement().Modes)]);
        }
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("   ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        }
        if (view.Pools.Count == 0)
        {
            text.AppendLine("no IPPool: create one (docs/getting-started.md) before any Service can get an address");
        }
        return text.ToString();
    }

    private static string Used(AddressFamilyCounts? counts) =>
        counts is null ? "-" : $"{counts.Allocated.ToString(CultureInfo.InvariantCulture)}/{counts.Capacity}";
}
