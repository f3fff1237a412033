namespace IpvsOperator.Runtime.Rbac;

/// <summary>Permissions named by group and resource, for subresources and types without a class.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class GenericRbacAttribute : Attribute
{
    public string[] Groups { get; init; } = [""];
    public string[] Resources { get; init; } = [];
    public RbacVerb Verbs { get; init; }
    public string Component { get; init; } = "controller";
}
