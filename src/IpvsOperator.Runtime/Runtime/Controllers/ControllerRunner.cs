using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Queue;
using IpvsOperator.Runtime.Watching;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Controllers;

/// <summary>
/// Runs one controller and its finalizers over an informer and a work queue: every change to an
/// object queues its key; a worker takes the key, reads the object from the cache and finalizes,
/// adds finalizers and reconciles, or reports the deletion. Failures are requeued with backoff.
/// </summary>
public sealed class ControllerRunner<TEntity> : IRunnableController
    where TEntity : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly WatchedResource<TEntity> resource;
    private readonly EntityClient<TEntity> client;
    private readonly IEntityController<TEntity> controller;
    private readonly IReadOnlyList<IEntityFinalizer<TEntity>> finalizers;
    private readonly int workers;
    private readonly ILogger logger;
    private readonly WorkQueue<ObjectKey> queue;
    private readonly ConcurrentDictionary<ObjectKey, TEntity> tombstones = new();
    private readonly ConcurrentDictionary<ObjectKey, string> waiting = new();
    private long reconciles;
    private long failures;

    /// <summary>Made by <see cref="WatchedResource{TEntity}.RunWith"/>.</summary>
    internal ControllerRunner(WatchedResource<TEntity> resource, EntityClient<TEntity> client, IEntityController<TEntity> controller,
        IEnumerable<IEntityFinalizer<TEntity>> finalizers, int workers, ILogger logger)
    {
        this.resource = resource;
        this.client = client;
        this.controller = controller;
        this.finalizers = [.. finalizers];
        this.workers = workers;
        this.logger = logger;
        queue = resource.Queue;
        Informer.Subscribe(OnChange);
    }

    public Informer<TEntity> Informer => resource.Informer;

    public string Name => $"{controller.GetType().Name}<{typeof(TEntity).Name}>";

    public int QueueDepth => queue.Depth;

    public long Reconciles => Interlocked.Read(ref reconciles);

    public long Failures => Interlocked.Read(ref failures);

    public long CacheItemsCopied => Informer.ItemsCopied;

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => Informer.WaitForSyncAsync(cancellationToken);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var informing = Informer.RunAsync(cancellationToken);
        try
        {
            await Informer.WaitForSyncAsync(cancellationToken);
            await Task.WhenAll(Enumerable.Range(0, Math.Max(1, workers)).Select(_ => WorkAsync(cancellationToken)));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        await informing;
    }

    private void OnChange(InformerEvent<TEntity> change)
    {
        var key = ObjectKey.Of(change.Entity);
        if (change.Type == InformerEventType.Deleted)
        {
            tombstones[key] = change.Entity;
            resource.ForgetOwnWrite(key);
        }
        else
        {
            tombstones.TryRemove(key, out _);
            if (change.Type == InformerEventType.Updated && resource.IsOwnWrite(key, change.Entity))
            {
                return;
            }
        }
        queue.Add(key);
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var key = await queue.TakeAsync(cancellationToken);
            var started = Stopwatch.GetTimestamp();
            try
            {
                var result = await ProcessAsync(key, cancellationToken);
                if (result.WaitingFor is { } reason)
                {
                    Wait(key, reason);
                }
                else
                {
                    queue.Forget(key);
                    waiting.TryRemove(key, out _);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (ApiStatusException conflict) when (conflict.IsConflict)
            {
                // Someone wrote the object first: look again at the fresh state, which the watch brings.
                logger.LogDebug("conflict on {Object}; retrying on fresh state", key);
                queue.AddRateLimited(key);
            }
            catch (Exception error)
            {
                Interlocked.Increment(ref failures);
                RuntimeMetrics.ReconcileFailures.WithLabels(Name).Inc();
                var delay = queue.AddRateLimited(key);
                // With its stack when a failure appears; the same failure again is counted, not repeated.
                if (waiting.TryGetValue(key, out var previous) && previous == error.Message)
                {
                    logger.LogDebug("{Controller} failed on {Object} again ({Failures} in a row): {Error}; next try within {Delay}", Name, key, queue.Failures(key), error.Message, delay);
                }
                else
                {
                    waiting[key] = error.Message;
                    logger.LogWarning(error, "{Controller} failed on {Object} ({Failures} in a row); tried again with backoff, next within {Delay}", Name, key, queue.Failures(key), delay);
                }
            }
            finally
            {
                Interlocked.Increment(ref reconciles);
                RuntimeMetrics.ReconcileDuration.WithLabels(Name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                queue.Done(key);
                RuntimeMetrics.QueueDepth.WithLabels(Name).Set(queue.Depth);
            }
        }
    }

    /// <summary>
    /// An object that cannot be served now for a reason users can fix: tried again with backoff
    /// (sooner when the controller enqueues it because what it waits for changed), logged once per reason.
    /// </summary>
    private void Wait(ObjectKey key, string reason)
    {
        var delay = queue.AddRateLimited(key);
        if (waiting.TryGetValue(key, out var previous) && previous == reason)
        {
            logger.LogDebug("{Controller}: {Object} still waits ({Failures} tries): {Reason}; next try within {Delay}", Name, key, queue.Failures(key), reason, delay);
            return;
        }
        waiting[key] = reason;
        logger.LogInformation("{Controller}: {Object} waits: {Reason}; tried again with backoff, and at once when what it waits for changes", Name, key, reason);
    }

    private async Task<ReconcileResult> ProcessAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var entity = Informer.Get(key);
        if (entity is null)
        {
            waiting.TryRemove(key, out _);
            if (tombstones.TryRemove(key, out var last))
            {
                await controller.DeletedAsync(last, cancellationToken);
            }
            return ReconcileResult.Done;
        }
        var present = entity.Metadata.Finalizers ?? [];
        if (entity.Metadata.DeletionTimestamp is not null)
        {
            foreach (var finalizer in finalizers.Where(f => present.Contains(f.Identifier)))
            {
                await finalizer.FinalizeAsync(entity, cancellationToken);
                try
                {
                    entity = await SetFinalizersAsync(entity, present.Where(f => f != finalizer.Identifier).ToList(), cancellationToken);
                }
                catch (ApiStatusException error) when (error.IsNotFound)
                {
                    // Finalized on an earlier pass and gone since (the cache still had it): nothing is left to do.
                    logger.LogDebug("{Controller}: {Object} was gone once finalized", Name, key);
                    return ReconcileResult.Done;
                }
                present = entity.Metadata.Finalizers ?? [];
            }
            return ReconcileResult.Done;
        }
        var missing = finalizers.Where(f => f.AttachedByRuntime).Select(f => f.Identifier).Where(id => !present.Contains(id)).ToList();
        if (missing.Count > 0)
        {
            entity = await SetFinalizersAsync(entity, [.. present, .. missing], cancellationToken);
        }
        return await controller.ReconcileAsync(entity, cancellationToken);
    }

    /// <summary>Writes the finalizer list, conditional on the resourceVersion read: a conflict retries on fresh state.</summary>
    private Task<TEntity> SetFinalizersAsync(TEntity entity, List<string> finalizerList, CancellationToken cancellationToken)
    {
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = entity.Metadata.ResourceVersion, ["finalizers"] = ApiJson.Strings(finalizerList) },
        }.ToJsonString();
        return client.PatchAsync(entity.Metadata.NamespaceProperty, entity.Metadata.Name, patch, PatchKind.Merge, cancellationToken: cancellationToken);
    }

    public void Dispose() => queue.Dispose();
}
