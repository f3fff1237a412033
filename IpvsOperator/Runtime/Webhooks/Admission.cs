using System.Text.Json;

namespace IpvsOperator.Runtime.Webhooks;

/// <summary>What a validator is asked: the operation and the object before and after.</summary>
public sealed record AdmissionRequest(string Operation, string Name, string Namespace, JsonElement? NewObject, JsonElement? OldObject);

/// <summary>A validator's answer. A denial's message names the value and what would be valid.</summary>
public sealed record AdmissionVerdict(bool Allowed, string? Message = null, IReadOnlyList<string>? Warnings = null)
{
    public static readonly AdmissionVerdict Allow = new(true);

    public static AdmissionVerdict Deny(string message) => new(false, message);
}

/// <summary>A validating admission webhook (KubeOps' <c>ValidationWebhook&lt;T&gt;</c>, by path).</summary>
public interface IAdmissionValidator
{
    Task<AdmissionVerdict> ValidateAsync(AdmissionRequest request, CancellationToken cancellationToken);
}

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
}
