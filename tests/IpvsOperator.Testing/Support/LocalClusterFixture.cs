using IpvsOperator.LocalCluster;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Support;

/// <summary>A LocalCluster per test class, reached through the real KubernetesClient over HTTP.</summary>
public abstract class LocalClusterFixture
{
    protected LocalClusterServer Server { get; private set; } = null!;

    protected IKubernetes Client { get; private set; } = null!;

    protected virtual LocalClusterOptions Options => new() { BookmarkInterval = TimeSpan.FromMilliseconds(200) };

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        Server = await LocalClusterServer.StartAsync(Options);
        Client = Server.CreateClient();
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }

    [TearDown]
    public void ClearFaults() => Server.Faults.Clear();

    /// <summary>Installs the project's CRDs from config/crd, as a user would.</summary>
    protected async Task InstallCrdsAsync()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "config", "crd", "bases"), "*.yaml"))
        {
            var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(await File.ReadAllTextAsync(file));
            try
            {
                await Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
            }
            catch (k8s.Autorest.HttpOperationException error) when (error.Response.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // Installed by an earlier test of this class.
            }
        }
    }

    protected async Task<string> NewNamespaceAsync(string prefix = "t")
    {
        var ns = await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { GenerateName = prefix + "-" } });
        return ns.Metadata.Name;
    }

    protected static V1Service LoadBalancer(string name, int port = 80, IDictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
        Spec = new V1ServiceSpec
        {
            Type = "LoadBalancer",
            Selector = new Dictionary<string, string> { ["app"] = name },
            Ports = [new V1ServicePort { Name = "http", Port = port, TargetPort = 8080 }],
        },
    };
}
