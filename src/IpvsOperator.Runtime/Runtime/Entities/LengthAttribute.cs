namespace IpvsOperator.Runtime.Entities;

[AttributeUsage(AttributeTargets.Property)]
public sealed class LengthAttribute : Attribute
{
    public int MinLength { get; init; } = -1;
    public int MaxLength { get; init; } = -1;
}
