using System.Net.Http.Headers;
using IpvsOperator.Runtime.Client;
using k8s;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>
/// The API client of a process: the configuration handed over in-process (local mode), else from a
/// kubeconfig, in a pod from its ServiceAccount, else the default kubeconfig.
/// </summary>
public static class KubernetesConnection
{
    /// <param name="component">Who is calling ("ipvs-operator-controller"): the user agent, which the API server's
    /// audit log shows and managedFields name as the manager of the fields this process writes.</param>
    public static IKubernetes Connect(KubernetesClientConfiguration? given, string? kubeconfig, string component)
    {
        var kubernetes = new Kubernetes(Configuration(given, kubeconfig));
        var agent = kubernetes.HttpClient.DefaultRequestHeaders.UserAgent;
        agent.Clear();
        agent.Add(new ProductInfoHeaderValue(component, typeof(KubernetesConnection).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"));
        return kubernetes;
    }

    /// <summary>
    /// A connection for the runtime alone, without a <c>k8s.Kubernetes</c>: what the node agent uses,
    /// so that its Native AOT build keeps the JSON metadata of the kinds it reads only.
    /// </summary>
    public static ApiConnection ConnectApi(KubernetesClientConfiguration? given, string? kubeconfig, string component) =>
        ApiConnection.Connect(Configuration(given, kubeconfig), component);

    private static KubernetesClientConfiguration Configuration(KubernetesClientConfiguration? given, string? kubeconfig) =>
        given is not null ? given
        : kubeconfig is not null ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
        : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
        : KubernetesClientConfiguration.BuildDefaultConfig();
}
