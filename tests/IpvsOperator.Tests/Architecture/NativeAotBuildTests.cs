using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Architecture;

/// <summary>
/// The node agent's Native AOT build (src/IpvsOperator.NodeAgent against KubernetesClient.Aot)
/// compiles its projects with the trim and AOT analyzers on, their warnings errors: reflection
/// brought into the agent's code (a JsonSerializer call without a context, a k8s.Kubernetes) fails
/// here, not at the agent's first run; and a reference to a project the agent must not hold (the
/// allocator, the controller, LocalCluster) fails as a missing KubernetesClient-only type or as the
/// reference checked below.
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
                ["build", Path.Combine(RepositoryRoot.Path, "src", "IpvsOperator.NodeAgent"), "-nologo", "-v", "q", "-p:KubernetesClientFlavor=Aot", "-o", output.FullName],
                TimeSpan.FromMinutes(10) * Eventually.Scale);

            build.ExitCode.Should().Be(0, "the Native AOT build has no error and no warning:\n{0}{1}", build.Output, build.Error);
            var assemblies = output.GetFiles("*.dll").Select(f => f.Name).ToList();
            assemblies.Should().Contain(["IpvsOperator.Node.dll", "KubernetesClient.Aot.dll"]);
            assemblies.Should().NotContain(["IpvsOperator.Ipam.dll", "IpvsOperator.Controller.dll", "IpvsOperator.Runtime.Operator.dll",
                "IpvsOperator.Generation.dll", "IpvsOperator.LocalCluster.dll", "IpvsOperator.Migration.dll", "JsonSchema.Net.dll", "Cel.dll", "KubernetesClient.dll"],
                "the agent holds neither the allocator, the controller and its webhooks, the generators, LocalCluster, nor the reflection-based client");
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
