namespace IpvsOperator.Runtime.Webhooks;

/// <summary>A validator's answer. A denial's message names the value and what would be valid.</summary>
public sealed record AdmissionVerdict(bool Allowed, string? Message = null, IReadOnlyList<string>? Warnings = null)
{
    public static readonly AdmissionVerdict Allow = new(true);

    public static AdmissionVerdict Deny(string message) => new(false, message);
}
