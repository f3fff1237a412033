namespace IpvsOperator.Runtime.Entities;

/// <summary>Leaves a property out of the schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class IgnoreAttribute : Attribute;
