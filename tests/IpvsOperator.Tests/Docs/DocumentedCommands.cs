using System.Text.RegularExpressions;

namespace IpvsOperator.Tests.Docs;

/// <summary>How a shell block of the docs says it is to be taken, from its first line.</summary>
public enum BlockKind
{
    /// <summary>No marker: every command must be one the tests can check (make targets, flags, benchmark verbs).</summary>
    Checked,

    /// <summary><c># in local mode ...</c>: run one by one against local mode with the real kubectl.</summary>
    LocalMode,

    /// <summary><c># needs a cluster ...</c>: not run; the reader is told.</summary>
    NeedsCluster,
}

/// <summary>One command of a <c>```sh</c> block: continuation lines joined, its trailing comment apart.</summary>
public sealed record DocumentedCommand(string File, int Line, BlockKind Kind, string Text, string Comment)
{
    public override string ToString() => $"{File}:{Line}: {Text}";
}

/// <summary>Reads the shell blocks of README.md and docs/ (but the generated API reference).</summary>
public static partial class DocumentedCommands
{
    public static IReadOnlyList<string> Pages(string root) =>
        [Path.Combine(root, "README.md"), .. Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith(Path.Combine("reference", "api.md"), StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    public static IReadOnlyList<DocumentedCommand> Read(string root) => [.. Pages(root).SelectMany(page => ReadPage(root, page))];

    private static IEnumerable<DocumentedCommand> ReadPage(string root, string page)
    {
        var lines = File.ReadAllLines(page);
        var name = Path.GetRelativePath(root, page);
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```sh")
            {
                continue;
            }
            var kind = BlockKind.Checked;
            var first = i + 1 < lines.Length ? lines[i + 1].Trim() : "";
            if (first.StartsWith("# in local mode", StringComparison.Ordinal))
            {
                kind = BlockKind.LocalMode;
            }
            else if (first.StartsWith("# needs a cluster", StringComparison.Ordinal))
            {
                kind = BlockKind.NeedsCluster;
            }
            var j = i + 1;
            while (j < lines.Length && lines[j].Trim() != "```")
            {
                var start = j;
                var text = lines[j].Trim();
                while (text.EndsWith('\\') && j + 1 < lines.Length)
                {
                    text = text[..^1].TrimEnd() + " " + lines[++j].Trim();
                }
                j++;
                if (text.Length == 0 || text.StartsWith('#'))
                {
                    continue;
                }
                var comment = TrailingComment().Match(text);
                yield return comment.Success
                    ? new DocumentedCommand(name, start + 1, kind, text[..comment.Index].TrimEnd(), comment.Groups[1].Value.Trim())
                    : new DocumentedCommand(name, start + 1, kind, text, "");
            }
            i = j;
        }
    }

    /// <summary>A comment after a command: <c>kubectl get events   # what happened</c>.</summary>
    [GeneratedRegex(@"\s+#(?:\s(.*))?$")]
    private static partial Regex TrailingComment();

    /// <summary>Splits a command line as a POSIX shell would for plain words and single or double quotes.</summary>
    public static List<string> Words(string text)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '\'' or '"')
            {
                var end = text.IndexOf(c, i + 1);
                current.Append(text, i + 1, end - i - 1);
                i = end;
                inWord = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }
        if (inWord)
        {
            words.Add(current.ToString());
        }
        return words;
    }
}
