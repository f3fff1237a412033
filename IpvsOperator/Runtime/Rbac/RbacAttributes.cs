namespace IpvsOperator.Runtime.Rbac;

[Flags]
public enum RbacVerb
{
    None = 0,
    Get = 1,
    List = 2,
    Watch = 4,
    Create = 8,
    Update = 16,
    Patch = 32,
    Delete = 64,

    /// <summary>get, list and watch: what an informer needs.</summary>
    Read = Get | List | Watch,
}

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
}

/// <summary>Permissions named by group and resource, for subresources and types without a class.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class GenericRbacAttribute : Attribute
{
    public string[] Groups { get; init; } = [""];
    public string[] Resources { get; init; } = [];
    public RbacVerb Verbs { get; init; }
    public string Component { get; init; } = "controller";
}
