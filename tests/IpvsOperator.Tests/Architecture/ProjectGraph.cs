using System.Text;
using System.Xml.Linq;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Architecture;

/// <summary>
/// The product's projects (src/) and their project references, read from the solution and the
/// project files: the picture in docs/diagrams/projects.dot and the table in docs/architecture.md
/// are rendered from it, and a test holds both to it.
/// </summary>
public static class ProjectGraph
{
    /// <summary>Project name → the product projects it references directly, in name order.</summary>
    public static SortedDictionary<string, IReadOnlyList<string>> Read()
    {
        var solution = XDocument.Load(Path.Combine(RepositoryRoot.Path, "IpvsOperator.slnx"));
        var graph = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var path in solution.Descendants("Project").Select(p => (string)p.Attribute("Path")!).Where(p => p.StartsWith("src/", StringComparison.Ordinal)))
        {
            var project = XDocument.Load(Path.Combine(RepositoryRoot.Path, path));
            graph[Path.GetFileNameWithoutExtension(path)] =
            [
                .. project.Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension((string)r.Attribute("Include")!)).Order(StringComparer.Ordinal),
            ];
        }
        return graph;
    }

    /// <summary>The Graphviz source of the picture: an arrow from a project to each project it references.</summary>
    public static string RenderDot()
    {
        var dot = new StringBuilder();
        dot.Append("// Generated from IpvsOperator.slnx and the project files by ProjectGraphTests; `make docs` draws projects.svg.\n");
        dot.Append("digraph projects {\n  rankdir=BT;\n  node [shape=box, fontname=\"Helvetica\", fontsize=11];\n");
        foreach (var (project, references) in Read())
        {
            dot.Append($"  \"{project}\";\n");
            foreach (var reference in references)
            {
                dot.Append($"  \"{project}\" -> \"{reference}\";\n");
            }
        }
        dot.Append("}\n");
        return dot.ToString();
    }

    /// <summary>The table for docs/architecture.md: each project with the projects it references.</summary>
    public static string RenderTable()
    {
        var table = new StringBuilder("| project | references |\n| --- | --- |\n");
        foreach (var (project, references) in Read())
        {
            table.Append($"| {project} | {(references.Count == 0 ? "no project of ours" : string.Join(", ", references))} |\n");
        }
        return table.ToString().TrimEnd();
    }
}
