namespace IpvsOperator.Runtime.Controllers;

/// <summary>
/// What a reconcile asks of the runtime: nothing more, or another try
/// with backoff because the object cannot be served now for a reason users can fix (a full pool, a
/// taken address). Such a wait is not an error: it is logged when its reason changes, without a stack.
/// </summary>
public readonly record struct ReconcileResult(string? WaitingFor = null)
{
    public static ReconcileResult Done => default;

    /// <summary>Tried again with backoff (or at once when the controller enqueues it); <paramref name="reason"/> says why it waits.</summary>
    public static ReconcileResult RetryWithBackoff(string reason) => new(reason);
}
