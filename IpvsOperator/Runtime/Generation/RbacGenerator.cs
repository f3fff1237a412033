using System.Reflection;
using IpvsOperator.Runtime.Rbac;
using k8s.Models;

namespace IpvsOperator.Runtime.Generation;

/// <summary>
/// Collects the permissions declared with <see cref="EntityRbacAttribute"/> and
/// <see cref="GenericRbacAttribute"/> into one least-privilege ClusterRole per component.
/// </summary>
public static class RbacGenerator
{
    public static IReadOnlyDictionary<string, V1ClusterRole> Generate(IEnumerable<Type> types, string rolePrefix)
    {
        var grants = new List<(string Component, string Group, string Resource, RbacVerb Verbs)>();
        foreach (var type in types)
        {
            foreach (var declared in type.GetCustomAttributes<EntityRbacAttribute>())
            {
                foreach (var entity in declared.Entities)
                {
                    var (group, resource) = Resource(entity);
                    grants.Add((declared.Component, group, resource, declared.Verbs));
                }
            }
            foreach (var declared in type.GetCustomAttributes<GenericRbacAttribute>())
            {
                grants.AddRange(from g in declared.Groups from r in declared.Resources select (declared.Component, g, r, declared.Verbs));
            }
        }

        return grants.GroupBy(g => g.Component).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(
            component => component.Key,
            component => new V1ClusterRole
            {
                ApiVersion = "rbac.authorization.k8s.io/v1",
                Kind = "ClusterRole",
                Metadata = new V1ObjectMeta { Name = $"{rolePrefix}-{component.Key}" },
                // One rule per group and verb set, resources merged: short and stable to diff.
                Rules = [.. component
                    .GroupBy(g => (g.Group, g.Resource))
                    .Select(r => (r.Key.Group, r.Key.Resource, Verbs: r.Aggregate(RbacVerb.None, (all, g) => all | g.Verbs)))
                    .GroupBy(r => (r.Group, r.Verbs))
                    .OrderBy(r => r.Key.Group, StringComparer.Ordinal).ThenBy(r => r.Key.Verbs)
                    .Select(r => new V1PolicyRule
                    {
                        ApiGroups = [r.Key.Group],
                        Resources = [.. r.Select(x => x.Resource).Order(StringComparer.Ordinal)],
                        Verbs = VerbNames(r.Key.Verbs),
                    })],
            },
            StringComparer.Ordinal);
    }

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
