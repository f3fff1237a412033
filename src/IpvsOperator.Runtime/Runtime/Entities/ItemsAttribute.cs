namespace IpvsOperator.Runtime.Entities;

[AttributeUsage(AttributeTargets.Property)]
public sealed class ItemsAttribute : Attribute
{
    public int MinItems { get; init; } = -1;
    public int MaxItems { get; init; } = -1;
}
