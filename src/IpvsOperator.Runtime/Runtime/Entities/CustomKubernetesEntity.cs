using System.Reflection;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace IpvsOperator.Runtime.Entities;

/// <summary>A custom resource with metadata only (KubeOps' <c>CustomKubernetesEntity</c>).</summary>
public abstract class CustomKubernetesEntity : IKubernetesObject<V1ObjectMeta>
{
    protected CustomKubernetesEntity()
    {
        // A new object knows its own type, as the generated Kubernetes models' constructors do not.
        var entity = GetType().GetCustomAttribute<KubernetesEntityAttribute>();
        ApiVersion = entity is null ? string.Empty : string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
        Kind = entity?.Kind ?? string.Empty;
    }

    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; }

    [JsonPropertyName("kind")]
    public string Kind { get; set; }

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();
}

/// <summary>A custom resource with a spec.</summary>
public abstract class CustomKubernetesEntity<TSpec> : CustomKubernetesEntity, ISpec<TSpec>
    where TSpec : new()
{
    [JsonPropertyName("spec")]
    public TSpec Spec { get; set; } = new();
}

/// <summary>A custom resource with a spec and a status, which is written through the /status subresource.</summary>
public abstract class CustomKubernetesEntity<TSpec, TStatus> : CustomKubernetesEntity<TSpec>, IStatus<TStatus>
    where TSpec : new()
    where TStatus : new()
{
    [JsonPropertyName("status")]
    public TStatus Status { get; set; } = new();
}
