using k8s;

namespace IpvsOperator.Commands;

/// <summary>The API client of a process: from a kubeconfig, in a pod from its ServiceAccount, else the default kubeconfig.</summary>
public static class KubernetesConnection
{
    public static IKubernetes Connect(string? kubeconfig) => new Kubernetes(
        kubeconfig is not null ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
        : KubernetesClientConfiguration.IsInCluster() ? KubernetesClientConfiguration.InClusterConfig()
        : KubernetesClientConfiguration.BuildDefaultConfig());
}
