namespace IpvsOperator.Runtime.Watching;

public enum InformerEventType
{
    Added,
    Updated,
    Deleted,
}

/// <summary>A change seen by an informer; for Deleted, <see cref="Entity"/> is the last state known.</summary>
public sealed record InformerEvent<T>(InformerEventType Type, T Entity);
