namespace IpvsOperator.Runtime.Rbac;

/// <summary>
/// Permissions on entity types, declared on the class that uses them (KubeOps' <c>[EntityRbac]</c>).
/// The generator collects them per component into a ClusterRole. Status writes go to the
/// <c>/status</c> subresource: declare them with <see cref="GenericRbacAttribute"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class EntityRbacAttribute(params Type[] entities) : Attribute
{
    public IReadOnlyList<Type> Entities { get; } = entities;
    public RbacVerb Verbs { get; init; }

    /// <summary>The component whose ClusterRole carries the permission: controller or node.</summary>
    public string Component { get; init; } = "controller";

    /// <summary>Granted in the component's own namespace only (a Role), never cluster-wide.</summary>
    public bool Namespaced { get; init; }

    /// <summary>The only objects the permission covers; none: every object. Never effective for create, list or watch.</summary>
    public string[] ResourceNames { get; init; } = [];
}
