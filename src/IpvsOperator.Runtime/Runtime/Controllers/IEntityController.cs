using k8s;
using k8s.Models;

namespace IpvsOperator.Runtime.Controllers;

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
