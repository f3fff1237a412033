using k8s;
using k8s.Models;

namespace IpvsOperator.Runtime.Controllers;

/// <summary>What a reconcile asks of the runtime: nothing more, or another look after a while.</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done => default;

    public static ReconcileResult Requeue(TimeSpan after) => new(after);
}

/// <summary>
/// Brings the world in line with one object (KubeOps' <c>IEntityController&lt;T&gt;</c>). Called for
/// every change and after failures, never twice at once for the same object; must be idempotent.
/// An exception requeues the object with backoff.
/// </summary>
public interface IEntityController<in TEntity>
    where TEntity : IKubernetesObject<V1ObjectMeta>
{
    Task<ReconcileResult> ReconcileAsync(TEntity entity, CancellationToken cancellationToken);

    /// <summary>The object is gone; <paramref name="entity"/> is its last known state.</summary>
    Task DeletedAsync(TEntity entity, CancellationToken cancellationToken);
}

/// <summary>
/// Cleans up before an object may go (KubeOps' <c>IEntityFinalizer&lt;T&gt;</c>). The runtime adds
/// <see cref="Identifier"/> to every object it reconciles, calls <see cref="FinalizeAsync"/> once
/// deletion starts, and removes the finalizer after it succeeds; an exception retries it with backoff.
/// </summary>
public interface IEntityFinalizer<in TEntity>
    where TEntity : IKubernetesObject<V1ObjectMeta>
{
    string Identifier { get; }

    /// <summary>
    /// False when the controller attaches the finalizer itself (for instance in the same write as
    /// other metadata, or only to some objects); the runtime then only finalizes and removes it.
    /// </summary>
    bool AttachedByRuntime => true;

    Task FinalizeAsync(TEntity entity, CancellationToken cancellationToken);
}
