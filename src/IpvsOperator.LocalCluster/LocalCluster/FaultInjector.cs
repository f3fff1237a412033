using System.Net;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// Faults a test asks for: fail the next N requests of a verb (and resource) with a status, delay
/// responses, hold requests until the test lets them go, and answer the next watch with 410 Gone.
/// Closing every watch is on the server.
/// </summary>
public sealed class FaultInjector
{
    private readonly Lock gate = new();
    private readonly List<Failure> failures = [];
    private readonly List<(string? Verb, string? Resource, TimeSpan Delay)> delays = [];
    private readonly List<(string? Verb, string? Resource, TaskCompletionSource Release)> holds = [];
    private int goneWatches;

    /// <summary>Fails the next <paramref name="count"/> requests of <paramref name="verb"/> (get, list, watch, create, update, patch, delete; null for any) on <paramref name="resource"/> (plural; null for any).</summary>
    public void FailNext(int count, string? verb = null, string? resource = null, HttpStatusCode status = HttpStatusCode.InternalServerError)
    {
        lock (gate)
        {
            failures.Add(new Failure(verb, resource, status) { Remaining = count });
        }
    }

    public void Delay(TimeSpan delay, string? verb = null, string? resource = null)
    {
        lock (gate)
        {
            delays.Add((verb, resource, delay));
        }
    }

    /// <summary>
    /// Holds every request of <paramref name="verb"/> on <paramref name="resource"/> before the server
    /// reads its state, until the returned handle is disposed: a test puts one client's view exactly
    /// where a race would put it.
    /// </summary>
    public IDisposable Hold(string? verb = null, string? resource = null)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            holds.Add((verb, resource, release));
        }
        return new HeldRequests(this, release);
    }

    public void ForceGoneOnNextWatch(int count = 1)
    {
        lock (gate)
        {
            goneWatches += count;
        }
    }

    public void Clear()
    {
        lock (gate)
        {
            failures.Clear();
            delays.Clear();
            goneWatches = 0;
            holds.ForEach(h => h.Release.TrySetResult());
            holds.Clear();
        }
    }

    /// <summary>Completes when no hold matches the request any more.</summary>
    internal Task HeldAsync(string verb, string resource)
    {
        lock (gate)
        {
            return Task.WhenAll(holds.Where(h => Matches(h.Verb, h.Resource, verb, resource)).Select(h => h.Release.Task));
        }
    }

    internal (HttpStatusCode? Failure, TimeSpan Delay, bool Gone) Check(string verb, string resource)
    {
        lock (gate)
        {
            var delay = delays.Where(d => Matches(d.Verb, d.Resource, verb, resource)).Select(d => d.Delay).DefaultIfEmpty(TimeSpan.Zero).Max();
            var failure = failures.FirstOrDefault(f => f.Remaining > 0 && Matches(f.Verb, f.Resource, verb, resource));
            if (failure is not null)
            {
                failure.Remaining--;
                return (failure.Status, delay, false);
            }
            if (verb == "watch" && goneWatches > 0)
            {
                goneWatches--;
                return (null, delay, true);
            }
            return (null, delay, false);
        }
    }

    private static bool Matches(string? wantedVerb, string? wantedResource, string verb, string resource) =>
        (wantedVerb is null || wantedVerb == verb) && (wantedResource is null || wantedResource == resource);

    private void Release(TaskCompletionSource release)
    {
        lock (gate)
        {
            holds.RemoveAll(h => h.Release == release);
        }
        release.TrySetResult();
    }

    private sealed class HeldRequests(FaultInjector faults, TaskCompletionSource release) : IDisposable
    {
        public void Dispose() => faults.Release(release);
    }

    private sealed record Failure(string? Verb, string? Resource, HttpStatusCode Status)
    {
        public int Remaining { get; set; }
    }
}
