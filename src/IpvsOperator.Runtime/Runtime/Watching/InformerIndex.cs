using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Models;

namespace IpvsOperator.Runtime.Watching;

/// <summary>
/// The informer's objects by a value each of them names (client-go's Indexer): a lookup costs what
/// it finds, where a scan of <see cref="Informer{T}.Items"/> costs the whole cache, so a controller
/// that asks it for every object of a cluster does not grow with the square of the cluster. Kept
/// from the informer's events, which it sees after the cache has taken them; made before the
/// informer runs, so that it sees every event from the first list on.
/// </summary>
public sealed class InformerIndex<T, TValue>
    where T : class, IKubernetesObject<V1ObjectMeta>
    where TValue : notnull
{
    private readonly Func<T, IEnumerable<TValue>> valuesOf;
    private readonly Lock gate = new();
    private readonly Dictionary<ObjectKey, TValue[]> valuesByObject = [];
    private readonly Dictionary<TValue, Dictionary<ObjectKey, T>> objectsByValue = [];

    public InformerIndex(Informer<T> informer, Func<T, IEnumerable<TValue>> valuesOf)
    {
        if (informer.HasSynced)
        {
            throw new InvalidOperationException("an index is made before its informer lists, or it would miss the objects listed");
        }
        this.valuesOf = valuesOf;
        informer.Subscribe(OnChange);
    }

    /// <summary>The objects that name <paramref name="value"/>, as the informer last saw them.</summary>
    public IReadOnlyList<T> Get(TValue value)
    {
        lock (gate)
        {
            return objectsByValue.TryGetValue(value, out var objects) ? [.. objects.Values] : [];
        }
    }

    private void OnChange(InformerEvent<T> change)
    {
        var key = ObjectKey.Of(change.Entity);
        var values = change.Type == InformerEventType.Deleted ? [] : valuesOf(change.Entity).Distinct().ToArray();
        lock (gate)
        {
            if (valuesByObject.Remove(key, out var before))
            {
                foreach (var value in before)
                {
                    var objects = objectsByValue[value];
                    objects.Remove(key);
                    if (objects.Count == 0)
                    {
                        objectsByValue.Remove(value);
                    }
                }
            }
            if (values.Length == 0)
            {
                return;
            }
            valuesByObject[key] = values;
            foreach (var value in values)
            {
                if (!objectsByValue.TryGetValue(value, out var objects))
                {
                    objectsByValue[value] = objects = [];
                }
                objects[key] = change.Entity;
            }
        }
    }
}
