using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Architecture;

/// <summary>
/// The node agent's Native AOT build (tools/node-aot) compiles from the same sources with the trim
/// and AOT analyzers on, their warnings errors: reflection brought into the agent's code (a
/// JsonSerializer call without a context, a k8s.Kubernetes) fails here, not at the agent's first run.
/// The JSON contexts themselves are the JIT build's too, so every other test exercises them.
/// </summary>
public class NativeAotBuildTests
{
    [Test]
    public async Task The_node_agent_compiles_for_Native_AOT_without_a_warning()
    {
        var output = Directory.CreateTempSubdirectory("node-aot-");
        try
        {
            var build = await Processes.RunAsync("dotnet",
                ["build", Path.Combine(RepositoryRoot.Path, "tools", "node-aot"), "-nologo", "-v", "q", "-o", output.FullName],
                TimeSpan.FromMinutes(10) * Eventually.Scale);

            build.ExitCode.Should().Be(0, "the Native AOT build has no error and no warning:\n{0}{1}", build.Output, build.Error);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
