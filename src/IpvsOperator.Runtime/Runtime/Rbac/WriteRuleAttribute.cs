namespace IpvsOperator.Runtime.Rbac;

/// <summary>
/// A CEL rule every write of the component to <see cref="Entity"/> must pass, declared next to the
/// code that writes, as <see cref="EntityRbacAttribute"/> is: RBAC says which kinds a component may
/// write, these rules say which objects of them. The generator gathers a component's rules into a
/// ValidatingAdmissionPolicy (and a binding that denies) matching that component's ServiceAccount.
/// The rule sees <c>object</c>, <c>oldObject</c>, <c>request</c> and the variables
/// <c>variables.nodeName</c> (the node the requester's token is bound to, "" when none) and
/// <c>variables.written</c> (the object as written, or as it was for a delete).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class WriteRuleAttribute(Type entity, string rule) : Attribute
{
    public Type Entity { get; } = entity;

    public string Rule { get; } = rule;

    /// <summary>The writes the rule judges: Create, Update (and its subresources), Delete.</summary>
    public RbacVerb Verbs { get; init; } = RbacVerb.Create | RbacVerb.Update | RbacVerb.Delete;

    /// <summary>The component whose writes are judged: controller or node.</summary>
    public string Component { get; init; } = "controller";

    /// <summary>What the refusal says.</summary>
    public required string Message { get; init; }

    /// <summary>A CEL expression for the refusal, naming the objects at fault.</summary>
    public string? MessageExpression { get; init; }
}
