using k8s;
using k8s.Models;

namespace IpvsOperator.Runtime.Controllers;

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
