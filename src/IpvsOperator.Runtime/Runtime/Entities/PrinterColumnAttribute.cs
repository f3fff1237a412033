namespace IpvsOperator.Runtime.Entities;

/// <summary>A column of <c>kubectl get</c>, declared on the entity class in the order they appear.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(string name, string jsonPath, string type) : Attribute
{
    public string Name { get; } = name;
    public string JsonPath { get; } = jsonPath;
    public string Type { get; } = type;
    public string? Description { get; init; }

    /// <summary>0 shows in the default table; higher only with <c>-o wide</c>.</summary>
    public int Priority { get; init; }
}
