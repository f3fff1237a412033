using System.Text.RegularExpressions;
using IpvsOperator.Commands;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Docs;

/// <summary>
/// Every command in a shell block of the README and docs/ is one a test runs or checks, or sits in
/// a block that says it needs a cluster: a newcomer never copies a command that has rotted.
/// </summary>
public class DocumentedCommandsTests
{
    private static readonly string Root = RepositoryRoot.Path;

    [Test]
    public void Every_command_in_the_docs_is_run_by_a_test_checked_or_marked_as_needing_a_cluster()
    {
        var commands = DocumentedCommands.Read(Root);
        commands.Should().Contain(c => c.Kind == BlockKind.LocalMode, "the local mode walkthrough is run");
        commands.Select(c => c.Text).Should().Contain("make run").And.Contain("make test");
        var targets = MakeTargets();
        var benchmarkVerbs = BenchmarkVerbs();
        var problems = new List<string>();
        foreach (var command in commands)
        {
            var words = DocumentedCommands.Words(command.Text);
            var problem = (command.Kind, words) switch
            {
                (BlockKind.NeedsCluster, ["ipvs-operator", ..]) => ParseProblem(words),
                (BlockKind.NeedsCluster, _) => null,
                (BlockKind.LocalMode, ["kubectl", ..] or ["export", ..]) => null,
                (BlockKind.LocalMode, _) => "only kubectl and export are run in a local mode block",
                (_, ["make", .. var rest]) => rest.Where(w => !w.Contains('=', StringComparison.Ordinal)).FirstOrDefault(t => !targets.Contains(t)) is { } missing
                    ? $"the Makefile has no target '{missing}'" : null,
                (_, ["dotnet", "run", "-c", "Release", "--project", "benchmarks/IpvsOperator.Benchmarks", "--", "--filter", var pattern]) => BenchmarkFilterProblem(pattern),
                (_, ["dotnet", "run", "-c", "Release", "--project", "benchmarks/IpvsOperator.Benchmarks", "--", var verb, ..]) => benchmarkVerbs.Contains(verb)
                    ? null : $"the benchmarks have no verb '{verb}' (they have {string.Join(", ", benchmarkVerbs)})",
                (_, ["dotnet", "test", "--filter", var filter, ..]) => TestFilterProblem(filter),
                (_, ["ipvs-operator", ..]) => ParseProblem(words),
                (_, ["kubectl", ..]) => "kubectl needs an API server: put it in a '# in local mode' block (run by a test) or a '# needs a cluster' block",
                _ => "no test runs or checks it: mark its block '# needs a cluster', or make it one of the checked kinds",
            };
            if (problem is not null)
            {
                problems.Add($"{command}\n    {problem}");
            }
        }
        problems.Should().BeEmpty();
    }

    [Test]
    public async Task The_local_mode_commands_of_each_page_work_against_make_run_as_their_comments_say()
    {
        var pages = DocumentedCommands.Read(Root).Where(c => c.Kind == BlockKind.LocalMode).GroupBy(c => c.File).ToList();
        pages.Should().NotBeEmpty();
        foreach (var page in pages)
        {
            // A home of its own, so that the docs' ~/.cache/ipvs-operator-local path is this run's.
            var home = Directory.CreateTempSubdirectory("docs-home-");
            var local = await RunningLocalMode.StartAsync(Path.Combine(home.FullName, ".cache", "ipvs-operator-local"));
            var mode = local.Mode;
            // The samples are what the docs talk about: wait until the sample Service is served.
            await Eventually.TrueAsync(() => mode.Node!.Dataplane!.Ipvs.ListServices().Count > 0, "the sample Service is programmed");

            var exports = new List<string>();
            foreach (var command in page)
            {
                if (command.Text.StartsWith("export ", StringComparison.Ordinal))
                {
                    exports.Add(command.Text);
                    continue;
                }
                var script = string.Join("; ", [$"cd '{Root}'", .. exports, command.Text]);
                var result = await Processes.RunAsync("env", ["-u", "XDG_RUNTIME_DIR", "-u", "KUBECONFIG", $"HOME={home.FullName}", "bash", "-c", script], TimeSpan.FromSeconds(60));
                if (command.Comment.StartsWith("refused", StringComparison.Ordinal))
                {
                    result.ExitCode.Should().NotBe(0, $"{command} is refused, as its comment says");
                    var reason = command.Comment["refused".Length..].TrimStart(':', ' ');
                    result.Error.Should().Contain(reason, $"{command} is refused for the reason its comment gives");
                }
                else
                {
                    result.ExitCode.Should().Be(0, $"{command} works in local mode; it said: {result.Error}");
                }
            }
            mode.Node!.Agent!.FailedSyncsInARow.Should().Be(0, $"the node agent kept syncing through the commands of {page.Key}");

            await local.DisposeAsync();
            home.Delete(recursive: true);
        }
    }

    private static string? ParseProblem(IReadOnlyList<string> words)
    {
        var arguments = words.Skip(1).Where(w => w != "...").ToList();
        var errors = IpvsOperator.Commands.CommandLine.CreateRoot().Parse(arguments).Errors;
        return errors.Count == 0 ? null : string.Join("; ", errors.Select(e => e.Message));
    }

    private static HashSet<string> MakeTargets() =>
        [.. File.ReadAllLines(Path.Combine(Root, "Makefile")).Select(l => Regex.Match(l, @"^([a-z][a-z0-9-]*):")).Where(m => m.Success).Select(m => m.Groups[1].Value)];

    private static HashSet<string> BenchmarkVerbs() =>
        [.. Regex.Matches(File.ReadAllText(Path.Combine(Root, "benchmarks", "IpvsOperator.Benchmarks", "Program.cs")), @"case \[""([a-z]+)""").Select(m => m.Groups[1].Value)];

    /// <summary>A BenchmarkDotNet filter must match a benchmark class of the project.</summary>
    private static string? BenchmarkFilterProblem(string pattern)
    {
        var classes = Directory.EnumerateFiles(Path.Combine(Root, "benchmarks", "IpvsOperator.Benchmarks"), "*.cs")
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"class (\w+)").Select(m => m.Groups[1].Value));
        var regex = new Regex("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$");
        return classes.Any(regex.IsMatch) ? null : $"no benchmark class matches '{pattern}'";
    }

    /// <summary>A <c>dotnet test --filter FullyQualifiedName~Name</c> must name a test class or method.</summary>
    private static string? TestFilterProblem(string filter)
    {
        var name = filter.Split('~', '=').Last();
        var found = Directory.EnumerateFiles(Path.Combine(Root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Any(f => File.ReadAllText(f).Contains(name, StringComparison.Ordinal));
        return found ? null : $"no test is named like '{name}'";
    }
}
