namespace IpvsOperator.Migration;

/// <summary>One thing the user should know about the translation of one object's field.</summary>
internal sealed record Finding(FindingKind Kind, string Where, string Field, string Message)
{
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()}: {Where}: {Field}: {Message}";
}
