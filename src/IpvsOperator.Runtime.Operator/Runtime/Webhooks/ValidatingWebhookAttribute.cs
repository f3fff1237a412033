namespace IpvsOperator.Runtime.Webhooks;

/// <summary>
/// How the webhook is registered with the API server; the generator writes the
/// ValidatingWebhookConfiguration under <c>config/webhook</c> from these.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ValidatingWebhookAttribute(string name, string path) : Attribute
{
    public string Name { get; } = name;
    public string Path { get; } = path;
    public string[] Groups { get; init; } = [""];
    public string[] Versions { get; init; } = ["v1"];
    public string[] Resources { get; init; } = [];
    public string[] Operations { get; init; } = ["CREATE", "UPDATE"];

    /// <summary>Fail refuses requests while the webhook is down; Ignore lets them through.</summary>
    public string FailurePolicy { get; init; } = "Fail";

    public int TimeoutSeconds { get; init; } = 5;

    /// <summary>
    /// A CEL expression the API server evaluates before calling (a matchCondition named
    /// <see cref="MatchConditionName"/>): requests for which it is false never reach us, so the
    /// webhook neither sees nor slows them. Null: every request the rules match.
    /// </summary>
    public string? MatchCondition { get; init; }

    public string MatchConditionName { get; init; } = "only-ours";
}
