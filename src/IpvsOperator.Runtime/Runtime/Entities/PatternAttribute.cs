namespace IpvsOperator.Runtime.Entities;

/// <summary>A regular expression (ECMA 262, as Kubernetes applies it) that a string must match.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PatternAttribute(string pattern) : Attribute
{
    public string Pattern { get; } = pattern;
}
