namespace IpvsOperator.Runtime.Entities;

[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredAttribute : Attribute;
