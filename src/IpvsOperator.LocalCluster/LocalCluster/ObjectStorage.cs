using System.Globalization;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// Versioned object storage with the guarantees an API server builds on etcd: one monotonically
/// increasing resourceVersion for every write, conditional writes, and a bounded history of
/// changes from which a watch can resume, or learn with 410 Gone that it is too old to.
/// One lock orders every write and every watch registration, so no watcher misses or reorders a change.
/// </summary>
public sealed class ObjectStorage(int historyLimit)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, SortedDictionary<string, JsonObject>> byResource = new(StringComparer.Ordinal);
    private readonly Queue<(long Revision, string Key, string Type, JsonObject Object, JsonObject? Previous)> history = new();
    private readonly List<ObjectWatch> watches = [];
    private long revision = 1;
    private long compactedRevision;

    /// <summary>The oldest revision still in the history: a continue token or watch from before it is too old (410).</summary>
    public long CompactedRevision
    {
        get
        {
            lock (gate)
            {
                return compactedRevision;
            }
        }
    }

    public long Revision
    {
        get
        {
            lock (gate)
            {
                return revision;
            }
        }
    }

    public static string NamespaceOf(JsonObject obj) => obj["metadata"]?["namespace"]?.GetValue<string>() ?? string.Empty;

    public static string NameOf(JsonObject obj) => obj["metadata"]?["name"]?.GetValue<string>() ?? string.Empty;

    public static string ResourceVersionOf(JsonObject obj) => obj["metadata"]?["resourceVersion"]?.GetValue<string>() ?? string.Empty;

    private static string Id(string ns, string name) => $"{ns}/{name}";

    public JsonObject? Get(ApiResource resource, string ns, string name)
    {
        lock (gate)
        {
            return Objects(resource.Key).TryGetValue(Id(ns, name), out var found) ? (JsonObject)found.DeepClone() : null;
        }
    }

    /// <summary>
    /// Objects in name order after <paramref name="continueAfter"/>, at most <paramref name="limit"/>,
    /// and whether more follow: as they are now, or as they were at <paramref name="atRevision"/>
    /// (the pages of one list are one snapshot, as etcd serves them), or 410 Gone when the history
    /// no longer reaches back that far.
    /// </summary>
    public (List<JsonObject> Items, long Revision, string? LastId, bool More) List(ApiResource resource, string? ns, ObjectFilter filter, string? continueAfter, int limit,
        long? atRevision = null)
    {
        lock (gate)
        {
            var items = new List<JsonObject>();
            string? lastId = null;
            var more = false;
            var (objects, listed) = atRevision is { } at && at != revision ? (ObjectsAt(resource.Key, at), at) : (Objects(resource.Key), revision);
            foreach (var (id, obj) in objects)
            {
                if ((continueAfter is not null && string.CompareOrdinal(id, continueAfter) <= 0)
                    || (ns is not null && NamespaceOf(obj) != ns) || !filter.Matches(obj))
                {
                    continue;
                }
                if (limit > 0 && items.Count == limit)
                {
                    more = true;
                    break;
                }
                items.Add((JsonObject)obj.DeepClone());
                lastId = id;
            }
            return (items, listed, lastId, more);
        }
    }

    /// <summary>
    /// How many objects (of <paramref name="ns"/>, or all) follow <paramref name="after"/> in name
    /// order, now or at <paramref name="atRevision"/>: a list page's remainingItemCount.
    /// </summary>
    public long CountAfter(ApiResource resource, string? ns, string after, long? atRevision = null)
    {
        lock (gate)
        {
            var objects = atRevision is { } at && at != revision ? ObjectsAt(resource.Key, at) : Objects(resource.Key);
            return objects.Count(o => string.CompareOrdinal(o.Key, after) > 0 && (ns is null || NamespaceOf(o.Value) == ns));
        }
    }

    /// <summary>The objects of a type as they were at <paramref name="at"/>: today's, with every later change undone. Called with the gate held.</summary>
    private SortedDictionary<string, JsonObject> ObjectsAt(string resourceKey, long at)
    {
        if (at > revision)
        {
            throw new ApiException(System.Net.HttpStatusCode.GatewayTimeout, "Timeout", $"Too large resource version: {at}, current: {revision}");
        }
        if (at < compactedRevision)
        {
            throw ApiException.Gone($"The resourceVersion for the provided list is too old: {at} (the history starts at {compactedRevision + 1})");
        }
        var objects = new SortedDictionary<string, JsonObject>(Objects(resourceKey), StringComparer.Ordinal);
        foreach (var change in history.Where(c => c.Revision > at && c.Key == resourceKey).Reverse())
        {
            var id = Id(NamespaceOf(change.Object), NameOf(change.Object));
            if (change.Type == "ADDED")
            {
                objects.Remove(id);
            }
            else if (change.Previous is not null)
            {
                objects[id] = change.Previous;
            }
        }
        return objects;
    }

    /// <summary>Every stored object of every type, for cross-type work such as garbage collection.</summary>
    public List<(string ResourceKey, JsonObject Object)> Snapshot(Func<JsonObject, bool> predicate)
    {
        lock (gate)
        {
            return [.. byResource.SelectMany(r => r.Value.Values.Where(predicate).Select(o => (r.Key, (JsonObject)o.DeepClone())))];
        }
    }

    public JsonObject Create(ApiResource resource, JsonObject obj)
    {
        lock (gate)
        {
            var objects = Objects(resource.Key);
            var id = Id(NamespaceOf(obj), NameOf(obj));
            if (objects.ContainsKey(id))
            {
                throw ApiException.AlreadyExists(resource, NameOf(obj));
            }
            var stored = Stamp(obj);
            objects[id] = stored;
            Publish(resource.Key, "ADDED", stored, null);
            return (JsonObject)stored.DeepClone();
        }
    }

    /// <summary>Replaces an object if its resourceVersion is still <paramref name="expectedVersion"/>.</summary>
    public JsonObject Update(ApiResource resource, JsonObject obj, string expectedVersion)
    {
        lock (gate)
        {
            var objects = Objects(resource.Key);
            var id = Id(NamespaceOf(obj), NameOf(obj));
            if (!objects.TryGetValue(id, out var current))
            {
                throw ApiException.NotFound(resource, NameOf(obj));
            }
            if (ResourceVersionOf(current) != expectedVersion)
            {
                throw ApiException.StaleUpdate(resource, NameOf(obj));
            }
            var stored = Stamp(obj);
            objects[id] = stored;
            Publish(resource.Key, "MODIFIED", stored, current);
            return (JsonObject)stored.DeepClone();
        }
    }

    /// <summary>Removes an object if its resourceVersion is still <paramref name="expectedVersion"/>; returns its final state.</summary>
    public JsonObject Remove(ApiResource resource, string ns, string name, string expectedVersion)
    {
        lock (gate)
        {
            var objects = Objects(resource.Key);
            if (!objects.TryGetValue(Id(ns, name), out var current))
            {
                throw ApiException.NotFound(resource, name);
            }
            if (ResourceVersionOf(current) != expectedVersion)
            {
                throw ApiException.StaleUpdate(resource, name);
            }
            objects.Remove(Id(ns, name));
            // The DELETED event carries the revision of the deletion, as etcd's does.
            var final = Stamp(current);
            Publish(resource.Key, "DELETED", final, current);
            return (JsonObject)final.DeepClone();
        }
    }

    /// <summary>Removes every object of a type (its CRD went away), telling watchers.</summary>
    public void RemoveAll(ApiResource resource)
    {
        lock (gate)
        {
            foreach (var current in Objects(resource.Key).Values.ToList())
            {
                Publish(resource.Key, "DELETED", Stamp(current), current);
            }
            byResource.Remove(resource.Key);
        }
    }

    /// <summary>
    /// Starts a watch. With no revision it first sends every current object as ADDED; with one it
    /// replays the changes after it, or throws 410 Gone when they have left the history.
    /// </summary>
    /// <param name="initialEventsEnd">After the current objects, a bookmark annotated k8s.io/initial-events-end: the client has the whole state.</param>
    public ObjectWatch Watch(ApiResource resource, string? ns, ObjectFilter filter, long? fromRevision, bool initialEventsEnd = false)
    {
        lock (gate)
        {
            if (fromRevision is { } from && from < compactedRevision)
            {
                throw ApiException.Gone($"too old resource version: {from} ({compactedRevision + 1})");
            }
            var watch = new ObjectWatch(resource.Key, ns, filter, Unregister);
            if (fromRevision is { } since)
            {
                foreach (var change in history.Where(c => c.Revision > since && c.Key == resource.Key))
                {
                    string? json = null;
                    Deliver(watch, change.Type, change.Object, change.Previous, ref json);
                }
            }
            else
            {
                foreach (var obj in Objects(resource.Key).Values.Where(watch.Covers))
                {
                    watch.Send("ADDED", (JsonObject)obj.DeepClone());
                }
                if (initialEventsEnd)
                {
                    var end = BookmarkOf(resource);
                    end["metadata"]!["annotations"] = new JsonObject { ["k8s.io/initial-events-end"] = "true" };
                    watch.Send("BOOKMARK", end);
                }
            }
            watches.Add(watch);
            return watch;
        }
    }

    /// <summary>Sends a BOOKMARK with the current revision; ordered after every change already sent.</summary>
    public void Bookmark(ObjectWatch watch, ApiResource resource)
    {
        lock (gate)
        {
            watch.Send("BOOKMARK", BookmarkOf(resource));
        }
    }

    /// <summary>A bookmark at the current revision. Called with the gate held.</summary>
    private JsonObject BookmarkOf(ApiResource resource) => new()
    {
        ["kind"] = resource.Kind,
        ["apiVersion"] = resource.ApiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) },
    };

    /// <summary>Watches open on resources of this plural (any group) in one namespace: lets a test wait until a client is really watching.</summary>
    public int OpenWatches(string plural, string ns)
    {
        lock (gate)
        {
            return watches.Count(w => w.ResourceKey.EndsWith("/" + plural, StringComparison.Ordinal) && w.Namespace == ns);
        }
    }

    /// <summary>The watches open now.</summary>
    public IReadOnlyList<ObjectWatch> OpenWatchList()
    {
        lock (gate)
        {
            return [.. watches];
        }
    }

    public void CloseAllWatches()
    {
        lock (gate)
        {
            foreach (var watch in watches)
            {
                watch.Close();
            }
            watches.Clear();
        }
    }

    /// <summary>Forgets the history, so that every watch resuming from an earlier revision gets 410 Gone.</summary>
    public void Compact()
    {
        lock (gate)
        {
            history.Clear();
            compactedRevision = revision;
        }
    }

    private void Unregister(ObjectWatch watch)
    {
        lock (gate)
        {
            watches.Remove(watch);
        }
    }

    private SortedDictionary<string, JsonObject> Objects(string key) =>
        byResource.TryGetValue(key, out var objects) ? objects : byResource[key] = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);

    private JsonObject Stamp(JsonObject obj)
    {
        var stored = (JsonObject)obj.DeepClone();
        revision++;
        stored["metadata"]!["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture);
        return stored;
    }

    private void Publish(string key, string type, JsonObject obj, JsonObject? previous)
    {
        history.Enqueue((revision, key, type, obj, previous));
        while (history.Count > historyLimit)
        {
            compactedRevision = history.Dequeue().Revision;
        }
        // Serialized once for every watcher that gets it (not cloned and written once per watcher).
        string? json = null;
        foreach (var watch in watches.Where(w => w.ResourceKey == key))
        {
            Deliver(watch, type, obj, previous, ref json);
        }
    }

    /// <summary>
    /// Sends a change as the watcher sees it through its filter: an object that starts matching
    /// arrives as ADDED, one that stops matching leaves as DELETED, as the real server does.
    /// </summary>
    private static void Deliver(ObjectWatch watch, string type, JsonObject obj, JsonObject? previous, ref string? json)
    {
        var now = watch.Covers(obj);
        var before = previous is not null && watch.Covers(previous);
        var seen = type switch
        {
            "ADDED" => now ? "ADDED" : null,
            "DELETED" => before || now ? "DELETED" : null,
            _ => (before, now) switch
            {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                _ => null,
            },
        };
        if (seen is not null)
        {
            json ??= obj.ToJsonString();
            watch.Send(seen, obj, json);
        }
    }
}
