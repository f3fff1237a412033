namespace IpvsOperator.Runtime.Entities;

/// <summary>A list whose items are unique (<c>x-kubernetes-list-type: set</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListSetAttribute : Attribute;
