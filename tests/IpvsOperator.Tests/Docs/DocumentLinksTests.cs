using System.Text.RegularExpressions;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Docs;

/// <summary>
/// Every link in the README and docs/ that points into the repository leads to a file that exists,
/// and to a heading that exists when it names one; the README links only inside the repository.
/// </summary>
public partial class DocumentLinksTests
{
    [GeneratedRegex(@"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    private static IEnumerable<string> Documents() =>
        [Path.Combine(RepositoryRoot.Path, "README.md"), .. Directory.EnumerateFiles(Path.Combine(RepositoryRoot.Path, "docs"), "*.md", SearchOption.AllDirectories)];

    /// <summary>GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static string Anchor(string heading) =>
        new string([.. heading.Replace("`", string.Empty, StringComparison.Ordinal).ToLowerInvariant()
            .Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_')]).Replace(' ', '-');

    private static IEnumerable<(string Document, string Target)> Links(string document) =>
        // Code blocks hold shell, not links.
        Link().Matches(Regex.Replace(File.ReadAllText(document), "```.*?```", string.Empty, RegexOptions.Singleline))
            .Select(m => (Path.GetRelativePath(RepositoryRoot.Path, document), m.Groups[1].Value));

    [Test]
    public void Every_link_into_the_repository_leads_to_a_file_and_a_heading_that_exist()
    {
        var broken = new List<string>();
        foreach (var document in Documents())
        {
            foreach (var (from, target) in Links(document).Where(l => !l.Target.Contains("://", StringComparison.Ordinal) && !l.Target.StartsWith("mailto:", StringComparison.Ordinal)))
            {
                var parts = target.Split('#', 2);
                var file = parts[0].Length == 0 ? document : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(document)!, parts[0]));
                if (!File.Exists(file) && !Directory.Exists(file))
                {
                    broken.Add($"{from}: {target} (no such file)");
                }
                else if (parts.Length == 2 && file.EndsWith(".md", StringComparison.Ordinal)
                    && !Heading().Matches(File.ReadAllText(file)).Select(h => Anchor(h.Groups[1].Value)).Contains(parts[1]))
                {
                    broken.Add($"{from}: {target} (no such heading)");
                }
            }
        }
        broken.Should().BeEmpty();
    }

    [Test]
    public void The_README_links_only_inside_the_repository() =>
        Links(Path.Combine(RepositoryRoot.Path, "README.md")).Where(l => l.Target.Contains("://", StringComparison.Ordinal)).Should().BeEmpty();
}
