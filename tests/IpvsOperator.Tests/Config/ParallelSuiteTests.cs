using System.Text.RegularExpressions;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Config;

/// <summary>
/// `make test` runs the test assemblies side by side (vstest --Parallel), so two assemblies must not
/// both touch what has one name on the host: the network namespaces, links and daemons the host
/// tests create by fixed names. Those tests all live in IpvsOperator.Dataplane.Tests; anywhere else
/// they must be of the category Kernel, which runs in the VM, one assembly after the other.
/// </summary>
public sealed partial class ParallelSuiteTests
{
    private const string HostNamespaceAssembly = "IpvsOperator.Dataplane.Tests";

    [GeneratedRegex(@"\bnetns\b|NamespaceLan|FrrLab|FrrInstance|\bbird\b|\bip link add\b")]
    private static partial Regex HostWideResource();

    [Test]
    public void Host_tests_that_create_namespaces_links_or_routing_daemons_share_one_assembly()
    {
        var testsDirectory = Path.Combine(RepositoryRoot.Path, "tests");
        var offenders = Directory.EnumerateDirectories(testsDirectory, "*.Tests")
            .Where(project => Path.GetFileName(project) != HostNamespaceAssembly)
            .SelectMany(project => Directory.EnumerateFiles(project, "*.cs", SearchOption.AllDirectories))
            .Where(file => !IsBuildOutput(file) && Path.GetFileName(file) != $"{nameof(ParallelSuiteTests)}.cs")
            .Where(file => IsHostTestUsingHostWideResources(File.ReadAllText(file)))
            .Select(file => Path.GetRelativePath(RepositoryRoot.Path, file))
            .ToList();

        offenders.Should().BeEmpty($"make test runs assemblies in parallel: a host test that creates network namespaces, links or routing daemons (FRR, BIRD) belongs in {HostNamespaceAssembly} (or the category Kernel), where such tests never overlap");
    }

    [Test]
    public void The_marker_finds_the_host_tests_it_guards()
    {
        var dataplaneTests = Path.Combine(RepositoryRoot.Path, "tests", HostNamespaceAssembly);
        Directory.EnumerateFiles(dataplaneTests, "*.cs", SearchOption.AllDirectories)
            .Where(file => !IsBuildOutput(file))
            .Count(file => HostWideResource().IsMatch(File.ReadAllText(file)))
            .Should().BeGreaterThan(3, "the FRR, BIRD and netlink tests in namespaces are recognised, so the rule above would see one moved elsewhere");
    }

    /// <summary>A file of tests (not a helper: its users are checked themselves) that runs on the host and names a host-wide resource.</summary>
    private static bool IsHostTestUsingHostWideResources(string source) =>
        source.Contains("[Test", StringComparison.Ordinal)
        && !source.Contains("[Category(\"Kernel\")]", StringComparison.Ordinal)
        && HostWideResource().IsMatch(source);

    private static bool IsBuildOutput(string file) =>
        file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
}
