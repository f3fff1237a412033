namespace IpvsOperator.Runtime.Entities;

/// <summary>
/// A CEL rule the API server itself enforces (<c>x-kubernetes-validations</c>), on the class's object or
/// on the property's value (<c>self</c>; <c>oldSelf</c> makes it a transition rule, checked on updates).
/// For checks that need no other object, so that they hold even when the webhook is down. Use the
/// standard CEL functions only: Kubernetes 1.29 must compile them, and LocalCluster has no others.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true)]
public sealed class ValidationRuleAttribute(string rule) : Attribute
{
    public string Rule { get; } = rule;

    /// <summary>What a refusal says; without it, "failed rule: RULE".</summary>
    public string? Message { get; init; }

    /// <summary>A CEL expression giving the message, with the values at fault.</summary>
    public string? MessageExpression { get; init; }

    /// <summary>FieldValueInvalid (the default), FieldValueForbidden, FieldValueRequired or FieldValueDuplicate.</summary>
    public string? Reason { get; init; }

    /// <summary>Where the refusal points, under the rule's own field (".keepaliveTime").</summary>
    public string? FieldPath { get; init; }
}
