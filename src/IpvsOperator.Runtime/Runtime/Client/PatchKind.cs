namespace IpvsOperator.Runtime.Client;

/// <summary>The patch formats the API server takes.</summary>
public enum PatchKind
{
    Merge,
    Json,
    Strategic,
}
