namespace IpvsOperator.Runtime.Controllers;

/// <summary>What a reconcile asks of the runtime: nothing more, or another look after a while.</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done => default;

    public static ReconcileResult Requeue(TimeSpan after) => new(after);
}
