using System.Reflection;
using IpvsOperator.Runtime.Entities;
using k8s.Models;

namespace IpvsOperator.Runtime.Client;

/// <summary>Where a type lives in the API: group, version, plural and scope, read from its attributes.</summary>
public sealed record EntityMetadata(string Group, string Version, string Kind, string Plural, bool Namespaced)
{
    // Built-in kinds that are cluster-scoped; every other built-in kind this operator uses is namespaced.
    private static readonly HashSet<string> ClusterScopedBuiltIns =
        ["Namespace", "Node", "PersistentVolume", "CustomResourceDefinition", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ClusterRole", "ClusterRoleBinding"];

    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public static EntityMetadata For<T>() => For(typeof(T));

    public static EntityMetadata For(Type type)
    {
        var entity = type.GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new ArgumentException($"{type.Name} has no [KubernetesEntity] attribute", nameof(type));
        var namespaced = type.GetCustomAttribute<EntityScopeAttribute>() is { } scope
            ? scope.Scope == EntityScope.Namespaced
            : !ClusterScopedBuiltIns.Contains(entity.Kind);
        return new EntityMetadata(entity.Group ?? string.Empty, entity.ApiVersion, entity.Kind, entity.PluralName, namespaced);
    }

    /// <summary>The URL path of the collection, or of one object when <paramref name="name"/> is given.</summary>
    public string Path(string? ns, string? name = null, string? subresource = null)
    {
        var root = Group.Length == 0 ? "api/v1" : $"apis/{Group}/{Version}";
        var scoped = Namespaced && !string.IsNullOrEmpty(ns) ? $"{root}/namespaces/{Uri.EscapeDataString(ns)}/{Plural}" : $"{root}/{Plural}";
        return name is null ? scoped : $"{scoped}/{Uri.EscapeDataString(name)}" + (subresource is null ? string.Empty : $"/{subresource}");
    }
}
