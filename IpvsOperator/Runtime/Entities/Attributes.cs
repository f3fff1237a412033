namespace IpvsOperator.Runtime.Entities;

// Attributes that describe an entity for the CRD generator, named after KubeOps' own
// (KubeOps.Abstractions.Entities.Attributes) so that the entity classes read the same.

public enum EntityScope
{
    Namespaced,
    Cluster,
}

[AttributeUsage(AttributeTargets.Class)]
public sealed class EntityScopeAttribute(EntityScope scope) : Attribute
{
    public EntityScope Scope { get; } = scope;
}

[AttributeUsage(AttributeTargets.Class)]
public sealed class KubernetesEntityShortNamesAttribute(params string[] shortNames) : Attribute
{
    public IReadOnlyList<string> ShortNames { get; } = shortNames;
}

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

[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property)]
public sealed class DescriptionAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredAttribute : Attribute;

/// <summary>A default the API server fills in, as a JSON literal (<c>true</c>, <c>0</c>, <c>"rr"</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DefaultAttribute(string json) : Attribute
{
    public string Json { get; } = json;
}

/// <summary>A regular expression (ECMA 262, as Kubernetes applies it) that a string must match.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PatternAttribute(string pattern) : Attribute
{
    public string Pattern { get; } = pattern;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class RangeMinimumAttribute(double minimum) : Attribute
{
    public double Minimum { get; } = minimum;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class RangeMaximumAttribute(double maximum) : Attribute
{
    public double Maximum { get; } = maximum;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class LengthAttribute : Attribute
{
    public int MinLength { get; init; } = -1;
    public int MaxLength { get; init; } = -1;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class ItemsAttribute : Attribute
{
    public int MinItems { get; init; } = -1;
    public int MaxItems { get; init; } = -1;
}

/// <summary>A list whose items are unique (<c>x-kubernetes-list-type: set</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListSetAttribute : Attribute;

/// <summary>A list merged by key (<c>x-kubernetes-list-type: map</c>), such as conditions by type.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListMapAttribute(params string[] keys) : Attribute
{
    public IReadOnlyList<string> Keys { get; } = keys;
}

/// <summary>Leaves a property out of the schema.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class IgnoreAttribute : Attribute;
