namespace IpvsOperator.Runtime.Entities;

/// <summary>A default the API server fills in, as a JSON literal (<c>true</c>, <c>0</c>, <c>"rr"</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DefaultAttribute(string json) : Attribute
{
    public string Json { get; } = json;
}
