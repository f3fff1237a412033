using k8s;

namespace IpvsOperator.Commands;

/// <summary>
/// The API client of a process: the configuration handed over in-process (local mode), else from a
/// kubeconfig, in a pod from its ServiceAccount, else the default kubeconfig.
/// </summary>
public static class KubernetesConnection
{
    public static IKubernetes Connect(KubernetesClientConfiguration? given, string? kubeconfig) => new Kubernetes(
        given is not null ? given
        : kubeconfig is not null ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
        : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
        : KubernetesClientConfiguration.BuildDefaultConfig());
}
