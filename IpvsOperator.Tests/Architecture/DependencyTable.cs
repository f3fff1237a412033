using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Architecture;

/// <summary>
/// The dependencies between the parts of the operator (the namespace under <c>IpvsOperator.</c>,
/// <c>Runtime</c> and <c>Dataplane</c> as one part each), read from the compiled code: every
/// reference in signatures and in method bodies counts, as ArchUnitNET reads them.
/// </summary>
public static class DependencyTable
{
    public static readonly ArchUnitNET.Domain.Architecture Operator =
        new ArchLoader().LoadAssemblies(typeof(IpvsOperator.Entities.WellKnown).Assembly).Build();

    public static string PartOf(IType type)
    {
        var name = type?.Namespace?.FullName ?? string.Empty;
        if (!name.StartsWith("IpvsOperator", StringComparison.Ordinal))
        {
            return string.Empty;
        }
        var parts = name.Split('.');
        return parts.Length > 1 ? parts[1] : "(root)";
    }

    /// <summary>Part → part → number of types of the first that use the second (nested and compiler-made types count as the type they are in).</summary>
    public static SortedDictionary<string, SortedDictionary<string, int>> Compute()
    {
        var uses = new Dictionary<string, HashSet<(string Type, string Part)>>(StringComparer.Ordinal);
        foreach (var type in Operator.Types)
        {
            var from = PartOf(type);
            if (from.Length == 0)
            {
                continue;
            }
            var set = uses.TryGetValue(from, out var u) ? u : uses[from] = [];
            set.UnionWith(type.Dependencies.Select(d => PartOf(d.Target)).Where(p => p.Length > 0 && p != from).Select(p => (TopLevel(type), p)));
            set.Add((TopLevel(type), string.Empty));
        }
        var table = new SortedDictionary<string, SortedDictionary<string, int>>(StringComparer.Ordinal);
        foreach (var (from, pairs) in uses)
        {
            table[from] = new SortedDictionary<string, int>(pairs.Where(p => p.Part.Length > 0).GroupBy(p => p.Part).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal);
        }
        return table;
    }

    private static string TopLevel(IType type) => type.FullName.Split('+', '/')[0];

    public static string Render()
    {
        var table = Compute();
        var lines = new List<string> { "| part | depends on (types that do) |", "| --- | --- |" };
        lines.AddRange(table.Select(row => $"| {row.Key} | {string.Join(", ", row.Value.Select(d => $"{d.Key} ({d.Value})"))} |"));
        return string.Join('\n', lines);
    }
}

public sealed class DependencyTableTests
{
    private const string Begin = "<!-- dependency-table -->";
    private const string End = "<!-- /dependency-table -->";

    [Test]
    public void The_table_in_docs_architecture_is_the_current_one()
    {
        var path = Path.Combine(RepositoryRoot.Path, "docs", "architecture.md");
        var document = File.ReadAllText(path);
        var start = document.IndexOf(Begin, StringComparison.Ordinal);
        var end = document.IndexOf(End, StringComparison.Ordinal);
        start.Should().BeGreaterThan(0, $"{path} marks the table with {Begin}");
        var committed = document[(start + Begin.Length)..end].Trim();

        var current = DependencyTable.Render();

        committed.Should().Be(current, $"the dependencies changed: put this table between the markers in {path}\n{current}");
    }
}
