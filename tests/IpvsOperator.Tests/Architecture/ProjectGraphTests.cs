using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Architecture;

public sealed class ProjectGraphTests
{
    private const string Begin = "<!-- project-table -->";
    private const string End = "<!-- /project-table -->";

    [Test]
    public void The_picture_of_the_projects_is_drawn_from_the_current_references()
    {
        var path = Path.Combine(RepositoryRoot.Path, "docs", "diagrams", "projects.dot");
        var current = ProjectGraph.RenderDot();

        File.ReadAllText(path).Should().Be(current, $"the project references changed: write this into {path} and run make docs\n{current}");
    }

    [Test]
    public void The_project_table_in_docs_architecture_is_the_current_one()
    {
        var path = Path.Combine(RepositoryRoot.Path, "docs", "architecture.md");
        var document = File.ReadAllText(path);
        var start = document.IndexOf(Begin, StringComparison.Ordinal);
        var end = document.IndexOf(End, StringComparison.Ordinal);
        start.Should().BeGreaterThan(0, $"{path} marks the table with {Begin}");
        var current = ProjectGraph.RenderTable();

        document[(start + Begin.Length)..end].Trim().Should().Be(current, $"the project references changed: put this table between the markers in {path}\n{current}");
    }

    [Test]
    public void The_node_agent_references_no_project_that_allocates_serves_webhooks_or_stands_in_for_a_cluster()
    {
        var graph = ProjectGraph.Read();
        var reached = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(["IpvsOperator.NodeAgent"]);
        while (pending.TryPop(out var project))
        {
            foreach (var reference in graph[project].Where(reached.Add))
            {
                pending.Push(reference);
            }
        }

        reached.Should().BeEquivalentTo(["IpvsOperator.Node", "IpvsOperator.Api", "IpvsOperator.Dataplane", "IpvsOperator.Runtime", "IpvsOperator.Addressing"],
            "the image's agent is built from these projects only: a reference to the allocator, the controller, the generators or LocalCluster would ship them in it");
    }
}
