namespace IpvsOperator.Runtime.Rbac;

/// <summary>Permissions named by group and resource, for subresources and types without a class.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class GenericRbacAttribute : Attribute
{
    public string[] Groups { get; init; } = [""];
    public string[] Resources { get; init; } = [];
    public RbacVerb Verbs { get; init; }
    public string Component { get; init; } = "controller";

    /// <summary>Granted in the component's own namespace only (a Role), never cluster-wide.</summary>
    public bool Namespaced { get; init; }

    /// <summary>The only objects the permission covers; none: every object. Never effective for create, list or watch.</summary>
    public string[] ResourceNames { get; init; } = [];
}
