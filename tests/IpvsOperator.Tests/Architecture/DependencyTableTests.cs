using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Architecture;

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
