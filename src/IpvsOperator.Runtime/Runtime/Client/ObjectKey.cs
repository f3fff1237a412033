using k8s;
using k8s.Models;

namespace IpvsOperator.Runtime.Client;

/// <summary>Namespace and name: how the runtime keys objects in caches and work queues.</summary>
public readonly record struct ObjectKey(string Namespace, string Name)
{
    public static ObjectKey Of(IKubernetesObject<V1ObjectMeta> obj) => new(obj.Metadata.NamespaceProperty ?? string.Empty, obj.Metadata.Name);

    public override string ToString() => Namespace.Length == 0 ? Name : $"{Namespace}/{Name}";
}
