using System.Text.RegularExpressions;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Architecture;

/// <summary>
/// The layer rules read in the source, for what the compiled code cannot show: a constant or a
/// <c>nameof</c> taken from another part is copied into the assembly, so the rules on the compiled
/// code (<see cref="LayerRuleTests"/>) never see it. Here a part's files may not name a part it
/// must not use: not in a using directive, not qualified (<c>IpvsOperator.Entities.WellKnown</c> or,
/// through the parent namespace, <c>Entities.WellKnown</c>). Comments and plain string literals are
/// left out; interpolated strings are read, since their holes are code.
/// </summary>
public sealed partial class SourceBoundaryTests
{
    private static readonly string[] AllParts =
        ["Addressing", "Selection", "Ipam", "Dataplane", "Entities", "Readers", "AllocationReaders", "Runtime", "Controllers", "Webhooks", "Node", "LocalCluster", "Migration", "Commands"];

    /// <summary>Each part with the parts its source may not name: the rules of docs/architecture.md.</summary>
    private static readonly Dictionary<string, string[]> Forbidden = new(StringComparer.Ordinal)
    {
        ["Addressing"] = Except("Addressing"),
        ["Selection"] = Except("Selection"),
        ["Ipam"] = Except("Ipam", "Addressing", "Selection"),
        ["Dataplane"] = Except("Dataplane", "Addressing"),
        ["Entities"] = Except("Entities", "Runtime"),
        ["Readers"] = Except("Readers", "Entities", "Addressing", "Selection", "Runtime"),
        ["AllocationReaders"] = Except("AllocationReaders", "Readers", "Entities", "Ipam", "Addressing", "Selection", "Runtime"),
        ["Migration"] = Except("Migration", "Readers", "AllocationReaders", "Entities", "Ipam", "Addressing", "Selection", "Runtime"),
        ["Runtime"] = Except("Runtime"),
        ["Controllers"] = ["Dataplane", "Node", "Webhooks", "Commands", "LocalCluster"],
        ["Webhooks"] = ["Controllers", "Dataplane", "Node", "Commands", "LocalCluster"],
        ["Node"] = ["Ipam", "AllocationReaders", "Controllers", "Webhooks", "Commands", "LocalCluster"],
        ["LocalCluster"] = Except("LocalCluster"),
    };

    private static string[] Except(params string[] allowed) => [.. AllParts.Where(p => !allowed.Contains(p))];

    [Test]
    public void No_part_names_a_part_it_must_not_use_not_even_in_a_constant_or_a_nameof()
    {
        var breaches = new List<string>();
        var sources = Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllText);
        var namespaces = sources.Values.Select(s => NamespaceDeclaration().Match(s)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        foreach (var (file, source) in sources)
        {
            if (NamespaceDeclaration().Match(source) is not { Success: true } declared || !Forbidden.TryGetValue(declared.Groups[2].Value, out var forbidden))
            {
                continue;
            }
            var code = Code(source);
            foreach (var part in forbidden)
            {
                var named = new Regex($@"\bIpvsOperator\.{part}\b|(?<![\w.]){part}\.[A-Z]\w*");
                foreach (Match match in named.Matches(code))
                {
                    if (!match.Value.StartsWith("IpvsOperator.", StringComparison.Ordinal) && NestedNamespace(declared.Groups[1].Value, part, namespaces))
                    {
                        continue; // e.g. Entities.X inside IpvsOperator.Runtime.* is IpvsOperator.Runtime.Entities.X
                    }
                    var line = code[..match.Index].Count(c => c == '\n') + 1;
                    breaches.Add($"{Path.GetRelativePath(RepositoryRoot.Path, file)}:{line}: part {declared.Groups[2].Value} names {part} ('{match.Value}')");
                }
            }
        }

        breaches.Should().BeEmpty("a part may name only the parts docs/architecture.md lets it use, even where the compiler copies the value in");
    }

    [Test]
    public void The_check_catches_a_constant_and_a_nameof_from_another_part()
    {
        // The two leaks that left the rules on the compiled code green (issue 32), as they would be written.
        const string constant = "namespace IpvsOperator.Ipam;\ninternal static class Leak { public const string Key = Entities.WellKnown.Annotations.AllowSharedIP; }\n";
        const string name = "namespace IpvsOperator.Addressing;\ninternal static class Leak { public static readonly string Name = nameof(IpvsOperator.Runtime.Hosting.HealthServer); }\n";

        new Regex(@"(?<![\w.])Entities\.[A-Z]\w*").IsMatch(Code(constant)).Should().BeTrue();
        new Regex(@"\bIpvsOperator\.Runtime\b").IsMatch(Code(name)).Should().BeTrue();
        Code("// Entities.WellKnown in a comment\nvar text = \"Entities.WellKnown\";").Should().NotContain("Entities.WellKnown", "comments and plain strings are no reference");
        Code("var text = $\"{Entities.WellKnown.Name}\";").Should().Contain("Entities.WellKnown", "an interpolation's hole is code");
    }

    /// <summary>Whether <paramref name="name"/>, written inside <paramref name="within"/>, means a namespace nested below the part rather than IpvsOperator.<paramref name="name"/>.</summary>
    private static bool NestedNamespace(string within, string name, HashSet<string> namespaces)
    {
        for (var scope = within; scope.Contains('.', StringComparison.Ordinal) && scope != "IpvsOperator"; scope = scope[..scope.LastIndexOf('.')])
        {
            if (namespaces.Contains($"{scope}.{name}"))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The source without comments and plain string literals (their quotes stay, so positions keep their lines).</summary>
    private static string Code(string source) =>
        CommentsAndPlainStrings().Replace(source, m => m.Value.StartsWith('/') ? new string('\n', m.Value.Count(c => c == '\n')) : "\"\"");

    [GeneratedRegex(@"^namespace (IpvsOperator\.(\w+)[\w.]*)", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|(?<![$@])@?""(?:""""|\\.|[^""\\\n])*""", RegexOptions.Singleline)]
    private static partial Regex CommentsAndPlainStrings();
}
