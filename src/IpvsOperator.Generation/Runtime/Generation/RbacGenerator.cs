using System.Reflection;
using IpvsOperator.Runtime.Rbac;
using k8s.Models;

namespace IpvsOperator.Runtime.Generation;

/// <summary>What one component is granted: cluster-wide (a ClusterRole) and in its own namespace (a Role); either may be empty.</summary>
internal sealed record ComponentRoles(V1ClusterRole? Cluster, V1Role? Namespaced);

/// <summary>
/// Collects the permissions declared with <see cref="EntityRbacAttribute"/> and
/// <see cref="GenericRbacAttribute"/> into least-privilege roles per component: a ClusterRole for
/// what the component needs across the cluster, a Role for what it needs only in its own namespace,
/// with resourceNames where it needs only objects of its own.
/// </summary>
internal static class RbacGenerator
{
    private sealed record Grant(string Component, bool Namespaced, string Group, string Resource, RbacVerb Verbs, string Names);

    public static IReadOnlyDictionary<string, ComponentRoles> Generate(IEnumerable<Type> types, string rolePrefix)
    {
        var grants = new List<Grant>();
        foreach (var type in types)
        {
            foreach (var declared in type.GetCustomAttributes<EntityRbacAttribute>())
            {
                foreach (var entity in declared.Entities)
                {
                    var (group, resource) = Resource(entity);
                    grants.Add(new Grant(declared.Component, declared.Namespaced, group, resource, declared.Verbs, NamesKey(declared.ResourceNames)));
                }
            }
            foreach (var declared in type.GetCustomAttributes<GenericRbacAttribute>())
            {
                grants.AddRange(from g in declared.Groups from r in declared.Resources
                                select new Grant(declared.Component, declared.Namespaced, g, r, declared.Verbs, NamesKey(declared.ResourceNames)));
            }
        }

        return grants.GroupBy(g => g.Component).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(
            component => component.Key,
            component =>
            {
                var name = $"{rolePrefix}-{component.Key}";
                var cluster = Rules(component.Where(g => !g.Namespaced));
                var namespaced = Rules(component.Where(g => g.Namespaced));
                return new ComponentRoles(
                    cluster.Count == 0 ? null : new V1ClusterRole { ApiVersion = "rbac.authorization.k8s.io/v1", Kind = "ClusterRole", Metadata = new V1ObjectMeta { Name = name }, Rules = cluster },
                    namespaced.Count == 0 ? null : new V1Role { ApiVersion = "rbac.authorization.k8s.io/v1", Kind = "Role", Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "system" }, Rules = namespaced });
            },
            StringComparer.Ordinal);
    }

    /// <summary>One rule per group, verb set and names, resources merged: short and stable to diff.</summary>
    private static List<V1PolicyRule> Rules(IEnumerable<Grant> grants) =>
    [
        .. grants
            .GroupBy(g => (g.Group, g.Resource, g.Names))
            .Select(r => (r.Key.Group, r.Key.Resource, r.Key.Names, Verbs: r.Aggregate(RbacVerb.None, (all, g) => all | g.Verbs)))
            .GroupBy(r => (r.Group, r.Verbs, r.Names))
            .OrderBy(r => r.Key.Group, StringComparer.Ordinal).ThenBy(r => r.Key.Verbs).ThenBy(r => r.Key.Names, StringComparer.Ordinal)
            .Select(r => new V1PolicyRule
            {
                ApiGroups = [r.Key.Group],
                Resources = [.. r.Select(x => x.Resource).Order(StringComparer.Ordinal)],
                ResourceNames = r.Key.Names.Length == 0 ? null : [.. r.Key.Names.Split(',')],
                Verbs = VerbNames(r.Key.Verbs),
            }),
    ];

    private static string NamesKey(string[] names) => string.Join(',', names.Order(StringComparer.Ordinal));

    public static (string Group, string Resource) Resource(Type entity)
    {
        var attribute = entity.GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new ArgumentException($"{entity.Name} has no [KubernetesEntity] attribute", nameof(entity));
        return (attribute.Group ?? string.Empty, attribute.PluralName ?? throw new ArgumentException($"{entity.Name} names no PluralName", nameof(entity)));
    }

    private static List<string> VerbNames(RbacVerb verbs) =>
        [.. Enum.GetValues<RbacVerb>()
            .Where(v => v is not RbacVerb.None and not RbacVerb.Read && verbs.HasFlag(v))
            .Select(v => v.ToString().ToLowerInvariant())];
}
