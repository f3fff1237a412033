using IpvsOperator.Runtime.Resilience;

namespace IpvsOperator.Runtime.Queue;

/// <summary>
/// A work queue keyed by object, as client-go's: a key queued twice is processed once; a key is
/// never handed to two workers at once (one added while it is being processed is handed out again
/// after <see cref="Done"/>); failures are retried with per-key exponential backoff and jitter.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "It is a queue, named as client-go names it.")]
public sealed class WorkQueue<TKey> : IDisposable
    where TKey : notnull
{
    private readonly Lock gate = new();
    private readonly Queue<TKey> ready = new();
    private readonly HashSet<TKey> queued = [];
    private readonly HashSet<TKey> processing = [];
    private readonly HashSet<TKey> dirty = [];
    private readonly Dictionary<TKey, int> failures = [];
    private readonly Dictionary<TKey, (DateTimeOffset Due, object Token)> delayed = [];
    private readonly SemaphoreSlim available = new(0);
    private readonly TimeProvider time;
    private readonly Backoff backoff;
    private readonly CancellationTokenSource disposed = new();

    public WorkQueue(Backoff? backoff = null, TimeProvider? time = null)
    {
        this.backoff = backoff ?? Backoff.Reconcile;
        this.time = time ?? TimeProvider.System;
    }

    /// <summary>Keys waiting to be processed.</summary>
    public int Depth
    {
        get
        {
            lock (gate)
            {
                return ready.Count;
            }
        }
    }

    public void Add(TKey key)
    {
        lock (gate)
        {
            if (processing.Contains(key))
            {
                dirty.Add(key);
                return;
            }
            if (queued.Add(key))
            {
                ready.Enqueue(key);
                available.Release();
            }
        }
    }

    /// <summary>
    /// Adds the key once the delay has passed. A key already waiting to be added at or before
    /// that time is not scheduled again, so a burst of delayed adds costs one processing.
    /// </summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }
        var due = time.GetUtcNow() + delay;
        var token = new object();
        lock (gate)
        {
            if (delayed.TryGetValue(key, out var pending) && pending.Due <= due)
            {
                return;
            }
            delayed[key] = (due, token);
        }
        _ = Task.Delay(delay, time, disposed.Token).ContinueWith(t =>
        {
            if (t.IsCanceled)
            {
                return;
            }
            lock (gate)
            {
                // Only the timer of the latest schedule adds the key. Comparing times here would be
                // wrong: a timer may fire a little before its due time by the clock.
                if (!delayed.TryGetValue(key, out var pending) || !ReferenceEquals(pending.Token, token))
                {
                    return;
                }
                delayed.Remove(key);
            }
            Add(key);
        }, TaskScheduler.Default);
    }

    /// <summary>Requeues after a failure, waiting by the backoff for the key's failures in a row.</summary>
    public TimeSpan AddRateLimited(TKey key)
    {
        int count;
        lock (gate)
        {
            count = failures[key] = failures.GetValueOrDefault(key) + 1;
        }
        var delay = backoff.Delay(count);
        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Forgets the failures of a key that succeeded.</summary>
    public void Forget(TKey key)
    {
        lock (gate)
        {
            failures.Remove(key);
        }
    }

    public int Failures(TKey key)
    {
        lock (gate)
        {
            return failures.GetValueOrDefault(key);
        }
    }

    /// <summary>Waits for a key and marks it as being processed.</summary>
    public async Task<TKey> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await available.WaitAsync(cancellationToken);
            lock (gate)
            {
                if (ready.TryDequeue(out var key))
                {
                    queued.Remove(key);
                    processing.Add(key);
                    return key;
                }
            }
        }
    }

    /// <summary>Ends processing of a key; if it was added meanwhile it is queued again.</summary>
    public void Done(TKey key)
    {
        lock (gate)
        {
            processing.Remove(key);
            if (dirty.Remove(key) && queued.Add(key))
            {
                ready.Enqueue(key);
                available.Release();
            }
        }
    }

    public void Dispose()
    {
        disposed.Cancel();
        disposed.Dispose();
        available.Dispose();
    }
}
