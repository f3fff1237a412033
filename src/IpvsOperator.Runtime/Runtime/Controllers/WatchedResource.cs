using System.Collections.Concurrent;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Queue;
using IpvsOperator.Runtime.Watching;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Controllers;

/// <summary>
/// One resource type as a term's controllers see it: the informer's cache to read, and the work
/// queue that the change of an object (or another controller) puts its key on. Made before the
/// controllers, so that controllers can share it; <see cref="RunWith"/> makes the runner that works the queue.
/// </summary>
public sealed class WatchedResource<TEntity>
    where TEntity : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly EntityClient<TEntity> client;
    private readonly ControllerOptions options;
    private readonly ILoggerFactory loggers;
    private readonly ConcurrentDictionary<ObjectKey, Func<TEntity, bool>> ownWrites = new();

    public WatchedResource(IKubernetes kubernetes, ControllerOptions options, ILoggerFactory loggers, string? ns = null, string? labelSelector = null)
    {
        client = new EntityClient<TEntity>(kubernetes);
        this.options = options;
        this.loggers = loggers;
        Informer = new Informer<TEntity>(client, loggers.CreateLogger<Informer<TEntity>>(), ns, labelSelector);
        Queue = new WorkQueue<ObjectKey>(options.Backoff);
    }

    public Informer<TEntity> Informer { get; }

    public WorkQueue<ObjectKey> Queue { get; }

    public IReadOnlyCollection<TEntity> Items => Informer.Items;

    public TEntity? Get(ObjectKey key) => Informer.Get(key);

    /// <summary>Queues an object for another look, e.g. when something it depends on changed.</summary>
    public void Enqueue(ObjectKey key) => Queue.Add(key);

    /// <summary>Queues an object after a delay; repeated calls meanwhile coalesce into one look.</summary>
    public void EnqueueAfter(ObjectKey key, TimeSpan delay) => Queue.AddAfter(key, delay);

    /// <summary>
    /// Says what an object will look like once a write the controller is about to make lands. The
    /// watch event that brings that write back is the controller's own doing, not a change to look
    /// at, so it does not queue the object again (a status written after each look would otherwise
    /// bring the object straight back, and every delay meant to gather changes would be bypassed).
    /// Anyone else's change still queues it. Call it before the write: its event may arrive before
    /// the write's answer. One expectation per object, the latest, used up by the event it matches.
    /// </summary>
    public void ExpectOwnWrite(ObjectKey key, Func<TEntity, bool> written) => ownWrites[key] = written;

    /// <summary>True, once, when <paramref name="entity"/> is what the controller said its own write would make of it.</summary>
    internal bool IsOwnWrite(ObjectKey key, TEntity entity) =>
        ownWrites.TryGetValue(key, out var written) && written(entity) && ownWrites.TryRemove(KeyValuePair.Create(key, written));

    /// <summary>The object is gone: nothing it is expected to become.</summary>
    internal void ForgetOwnWrite(ObjectKey key) => ownWrites.TryRemove(key, out _);

    /// <summary>Completes once the informer has listed every object.</summary>
    public Task WaitForSyncAsync(CancellationToken cancellationToken) => Informer.WaitForSyncAsync(cancellationToken);

    /// <summary>The runner that reconciles this resource's objects with <paramref name="controller"/> and finalizes them.</summary>
    public ControllerRunner<TEntity> RunWith(IEntityController<TEntity> controller, IEnumerable<IEntityFinalizer<TEntity>>? finalizers = null) =>
        new(this, client, controller, finalizers ?? [], options.Workers, loggers.CreateLogger<ControllerRunner<TEntity>>());
}
