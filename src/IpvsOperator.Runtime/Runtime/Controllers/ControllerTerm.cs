using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Controllers;

/// <summary>
/// What one leadership term builds its controllers from. Every term starts from nothing: new
/// informers (a fresh list) and new queues, as a new leader must trust only what the API server says.
/// </summary>
public sealed class ControllerTerm(IKubernetes kubernetes, ILoggerFactory loggers)
{
    /// <summary>A resource type to watch (optionally one namespace, one label selection) and to queue keys of.</summary>
    public WatchedResource<TEntity> Watch<TEntity>(ControllerOptions? options = null, string? ns = null, string? labelSelector = null)
        where TEntity : class, IKubernetesObject<V1ObjectMeta> =>
        new(kubernetes, options ?? new ControllerOptions(), loggers, ns, labelSelector);
}
