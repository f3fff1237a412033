using System.Collections.Concurrent;
using IpvsOperator.Runtime.Client;

namespace IpvsOperator.Controllers;

/// <summary>
/// The resourceVersions of Services that the controller's own writes have replaced, until the cache
/// shows a later one. A look at a version in here is a look at a cache that has not yet caught up
/// with the controller itself (the event of its first write arrives before that of its second): it
/// would find neither the claim nor the status just written, ask for the address again and write the
/// status on a version that is gone (a refused create and a 409 each time, seen in a burst on a busy
/// machine). The event of the write brings the Service back, so such a look is skipped.
/// Only successful writes are recorded: a version a failed write left in place is still the latest.
/// </summary>
internal sealed class ReplacedVersions
{
    private readonly ConcurrentDictionary<ObjectKey, HashSet<string>> replaced = new();

    /// <summary>A write of ours, made on <paramref name="resourceVersion"/>, succeeded.</summary>
    public void Replaced(ObjectKey service, string? resourceVersion)
    {
        if (string.IsNullOrEmpty(resourceVersion))
        {
            return;
        }
        var versions = replaced.GetOrAdd(service, _ => []);
        lock (versions)
        {
            versions.Add(resourceVersion);
        }
    }

    /// <summary>
    /// True when <paramref name="resourceVersion"/> is one our own writes replaced. Otherwise the cache
    /// has caught up with them (it only moves forward), and they are forgotten.
    /// </summary>
    public bool IsReplaced(ObjectKey service, string? resourceVersion)
    {
        if (!replaced.TryGetValue(service, out var versions))
        {
            return false;
        }
        lock (versions)
        {
            if (resourceVersion is not null && versions.Contains(resourceVersion))
            {
                return true;
            }
        }
        replaced.TryRemove(service, out _);
        return false;
    }

    /// <summary>The Service is gone.</summary>
    public void Forget(ObjectKey service) => replaced.TryRemove(service, out _);
}
