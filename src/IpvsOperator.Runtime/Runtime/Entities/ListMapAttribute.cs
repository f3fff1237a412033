namespace IpvsOperator.Runtime.Entities;

/// <summary>A list merged by key (<c>x-kubernetes-list-type: map</c>), such as conditions by type.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListMapAttribute(params string[] keys) : Attribute
{
    public IReadOnlyList<string> Keys { get; } = keys;
}
