namespace IpvsOperator.Node;

/// <summary>Why a sync ran.</summary>
public enum SyncTrigger
{
    Change,
    Periodic,
    Drain,
    Retry,
}
