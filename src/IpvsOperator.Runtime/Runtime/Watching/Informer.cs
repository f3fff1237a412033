using System.Collections.Concurrent;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Resilience;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Watching;

/// <summary>
/// List-then-watch for one resource type, with a local cache for reads. A dropped watch resumes
/// from the last resourceVersion seen (bookmarks move it on); a 410 Gone leads to a fresh list,
/// diffed against the cache so that changes made while disconnected, deletions included, still
/// arrive exactly once. Subscribers see events in order, after the cache has taken them.
/// An object that does not read as <typeparamref name="T"/> (a badly typed field the server let
/// through) is skipped, logged and counted, and the watch goes on past it: resuming before it would
/// replay it for ever. The cache keeps its last readable state until it reads again or is deleted.
/// </summary>
public sealed class Informer<T>(EntityClient<T> client, ILogger logger, string? ns = null, string? labelSelector = null, TimeProvider? time = null)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<ObjectKey, T> cache = new();
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Action<InformerEvent<T>>> subscribers = [];
    private readonly TimeProvider clock = time ?? TimeProvider.System;
    private long itemsCopied;

    public string LastResourceVersion { get; private set; } = string.Empty;

    /// <summary>How long the server keeps each watch open; null: 5 to 10 minutes, spread.</summary>
    public TimeSpan? WatchTimeout { get; init; }

    /// <summary>Silence past the watch's timeout after which its connection is taken for dead.</summary>
    public TimeSpan WatchGrace { get; init; } = WatchTimeouts.Grace;

    /// <summary>
    /// What the owner does to each object before the cache takes it, after managedFields are
    /// dropped (client-go's SetTransform): shares repeated strings, trims what it never reads. It
    /// must leave everything the owner reads as it was.
    /// </summary>
    public Action<T>? BeforeCaching { get; init; }

    /// <summary>Times the informer listed from scratch (the first list, then after each 410).</summary>
    public int Relists { get; private set; }

    public bool HasSynced => synced.Task.IsCompleted;

    /// <summary>Every object, copied: costs the whole cache. A lookup by a value is an <see cref="InformerIndex{T, TValue}"/>.</summary>
    public IReadOnlyCollection<T> Items
    {
        get
        {
            IReadOnlyCollection<T> items = [.. cache.Values];
            Interlocked.Add(ref itemsCopied, items.Count);
            return items;
        }
    }

    /// <summary>Objects handed out by <see cref="Items"/> so far: what reading the whole cache has cost, for tests that bound it.</summary>
    public long ItemsCopied => Interlocked.Read(ref itemsCopied);

    public T? Get(ObjectKey key) => cache.GetValueOrDefault(key);

    public void Subscribe(Action<InformerEvent<T>> handler)
    {
        lock (subscribers)
        {
            subscribers.Add(handler);
        }
    }

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        var needList = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await RelistAsync(cancellationToken);
                    needList = false;
                }
                await foreach (var (type, obj) in client.WatchAsync(ns, LastResourceVersion, labelSelector, bookmarks: true, WatchTimeout, WatchGrace, Skip, cancellationToken))
                {
                    failures = 0;
                    Apply(type, obj);
                }
                // The server closed the stream (timeout, restart, dropped connection): resume where we were.
                logger.LogDebug("watch of {Resource} ended at {ResourceVersion}; resuming", client.Metadata.Plural, LastResourceVersion);
            }
            catch (ApiStatusException error) when (error.IsGone)
            {
                logger.LogInformation("watch of {Resource} from {ResourceVersion} is too old ({Message}); listing again", client.Metadata.Plural, LastResourceVersion, error.Status.Message);
                needList = true;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (InvalidDataException unplaced)
            {
                // An undecodable event with no resourceVersion to resume after: a fresh list skips the object instead.
                logger.LogWarning("{Message}; listing {Resource} again", unplaced.Message, client.Metadata.Plural);
                needList = true;
            }
            catch (WatchStalledException stalled)
            {
                // A dead connection, not a failing server: watch again at once, from where we were.
                logger.LogWarning("{Message}; watching again from {ResourceVersion}", stalled.Message, LastResourceVersion);
            }
            catch (Exception error)
            {
                failures++;
                var delay = Backoff.Watch.Delay(failures);
                // An API server that is down is expected: said when it starts and every tenth retry, without a stack trace.
                var expected = error is ApiStatusException or HttpRequestException or IOException or TimeoutException;
                if (!expected || failures == 1 || failures % 10 == 0)
                {
                    logger.LogWarning(expected ? null : error, "watch of {Resource} failed ({Failures} in a row): {Error}; retrying in {Delay:0.#} s",
                        client.Metadata.Plural, failures, error.Message, delay.TotalSeconds);
                }
                try
                {
                    await Task.Delay(delay, clock, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RelistAsync(CancellationToken cancellationToken)
    {
        var seen = new HashSet<ObjectKey>();
        var list = await client.ListAllAsync(ns, labelSelector, undecodable: bad =>
        {
            Count(bad, "listed");
            if (bad.Name is not null)
            {
                seen.Add(new ObjectKey(bad.Namespace ?? string.Empty, bad.Name)); // still there: its last readable state stays cached
            }
        }, cancellationToken: cancellationToken);
        foreach (var obj in list.Items)
        {
            Prepare(obj);
            var key = ObjectKey.Of(obj);
            seen.Add(key);
            if (!cache.TryGetValue(key, out var cached))
            {
                cache[key] = obj;
                Publish(new InformerEvent<T>(InformerEventType.Added, obj));
            }
            else if (cached.Metadata.ResourceVersion != obj.Metadata.ResourceVersion)
            {
                cache[key] = obj;
                Publish(new InformerEvent<T>(InformerEventType.Updated, obj));
            }
        }
        foreach (var gone in cache.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            if (cache.TryRemove(gone, out var last))
            {
                Publish(new InformerEvent<T>(InformerEventType.Deleted, last));
            }
        }
        LastResourceVersion = list.ResourceVersion;
        Relists++;
        synced.TrySetResult();
    }

    private void Apply(WatchChange type, T obj)
    {
        LastResourceVersion = obj.Metadata.ResourceVersion ?? LastResourceVersion;
        if (type == WatchChange.Bookmark)
        {
            return;
        }
        Prepare(obj);
        var key = ObjectKey.Of(obj);
        if (type == WatchChange.Deleted)
        {
            if (cache.TryRemove(key, out _))
            {
                Publish(new InformerEvent<T>(InformerEventType.Deleted, obj));
            }
            return;
        }
        var existed = cache.ContainsKey(key);
        cache[key] = obj;
        Publish(new InformerEvent<T>(existed ? InformerEventType.Updated : InformerEventType.Added, obj));
    }

    /// <summary>
    /// A watch event whose object does not read: moves past it (a deletion still removes the object,
    /// by the name its raw JSON gives); throws when it gives no resourceVersion to move to.
    /// </summary>
    private void Skip(WatchChange type, UndecodableObject bad)
    {
        Count(bad, type.ToString().ToLowerInvariant());
        LastResourceVersion = bad.ResourceVersion ?? throw new InvalidDataException($"the watch of {client.Metadata.Plural} sent {bad} without a resourceVersion");
        if (type == WatchChange.Deleted && bad.Name is not null && cache.TryRemove(new ObjectKey(bad.Namespace ?? string.Empty, bad.Name), out var last))
        {
            Publish(new InformerEvent<T>(InformerEventType.Deleted, last));
        }
    }

    private void Count(UndecodableObject bad, string how)
    {
        WatchMetrics.DecodeFailures.WithLabels(client.Metadata.Plural).Inc();
        logger.LogError("cannot read {Object} ({How}) at resourceVersion {ResourceVersion} as {Type}: {Error}; skipped",
            bad.ToString(), how, bad.ResourceVersion ?? "(none)", typeof(T).Name, bad.Error);
    }

    /// <summary>
    /// managedFields are the API server's bookkeeping of server-side apply, often larger than the
    /// object itself, and nothing here reads them (client-go's TransformStripManagedFields does the
    /// same). An update sent from the cached object keeps the stored ones: omitted, they are kept.
    /// </summary>
    private static void StripManagedFields(T obj) => obj.Metadata.ManagedFields = null;

    private void Prepare(T obj)
    {
        StripManagedFields(obj);
        BeforeCaching?.Invoke(obj);
    }

    private void Publish(InformerEvent<T> change)
    {
        Action<InformerEvent<T>>[] handlers;
        lock (subscribers)
        {
            handlers = [.. subscribers];
        }
        foreach (var handler in handlers)
        {
            handler(change);
        }
    }
}
