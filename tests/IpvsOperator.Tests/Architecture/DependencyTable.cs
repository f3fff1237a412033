using ArchUnitNET.Domain;
using ArchUnitNET.Loader;

namespace IpvsOperator.Tests.Architecture;

/// <summary>
/// The dependencies between the parts of the operator (the namespace under <c>IpvsOperator.</c>,
/// <c>Runtime</c> and <c>Dataplane</c> as one part each), read from the compiled code: every
/// reference in signatures and in method bodies counts, as ArchUnitNET reads them.
/// </summary>
public static class DependencyTable
{
    /// <summary>Every product assembly: the executable and each project it references (src/), found beside the tests.</summary>
    public static readonly ArchUnitNET.Domain.Architecture Operator =
        new ArchLoader().LoadAssemblies([.. ProductAssemblies().Select(System.Reflection.Assembly.LoadFrom)]).Build();

    public static IEnumerable<string> ProductAssemblies() =>
        Directory.GetFiles(AppContext.BaseDirectory, "*.dll")
            .Where(f => Path.GetFileName(f) is var name && (name == "ipvs-operator.dll" || name.StartsWith("IpvsOperator.", StringComparison.Ordinal))
                && !name.EndsWith(".Tests.dll", StringComparison.Ordinal) && name != "IpvsOperator.Testing.dll")
            .Order(StringComparer.Ordinal);

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
            // A generic parameter is no dependency: ArchUnitNET names it after the method that declares it, and
            // the JSON source generator declares the same generic method in every context, the runtime's and the operator's.
            set.UnionWith(type.Dependencies.Where(d => d.Target is not GenericParameter).Select(d => PartOf(d.Target)).Where(p => p.Length > 0 && p != from).Select(p => (TopLevel(type), p)));
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

    /// <summary>The table as docs/architecture.md shows it: which parts each part uses (the counts change with every new type; the shape is what matters).</summary>
    public static string Render(bool counts = false)
    {
        var table = Compute();
        var lines = new List<string> { "| part | uses |", "| --- | --- |" };
        lines.AddRange(table.Select(row => $"| {row.Key} | {(row.Value.Count == 0 ? "nothing of ours" : string.Join(", ", row.Value.Select(d => counts ? $"{d.Key} ({d.Value})" : d.Key)))} |"));
        return string.Join('\n', lines);
    }
}
