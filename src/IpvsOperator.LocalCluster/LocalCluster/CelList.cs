using System.Collections;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A list as CEL sees it, read-only, charging the <see cref="CelBudget"/> for every element visited:
/// Cel 0.3.3's macros, <c>in</c> and indexes go through <see cref="IList"/>, so nested
/// comprehensions over a long list run out of budget instead of out of time.
/// </summary>
internal sealed class CelList(IReadOnlyList<object?> items) : IList<object?>, IList
{
    /// <summary>
    /// What one element read costs: upstream charges each node a comprehension's body evaluates
    /// (a variable, an operator, a call), about five for a body such as <c>p + q &gt; 0</c>; and the
    /// package re-walks the expression per element: about 1.3 KB and 1.5 to 3 µs a read (docs/benchmarks.md).
    /// </summary>
    public const long ElementCost = 5;

    public object? this[int index]
    {
        get
        {
            CelBudget.Charge(ElementCost);
            return items[index];
        }
        set => throw ReadOnly();
    }

    public int Count => items.Count;

    public bool IsReadOnly => true;

    public bool IsFixedSize => true;

    public bool IsSynchronized => false;

    public object SyncRoot => this;

    public IEnumerator<object?> GetEnumerator()
    {
        foreach (var item in items)
        {
            CelBudget.Charge(ElementCost);
            yield return item;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool Contains(object? item) => IndexOf(item) >= 0;

    public int IndexOf(object? item)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (Equals(this[i], item))
            {
                return i;
            }
        }
        return -1;
    }

    public void CopyTo(object?[] array, int arrayIndex)
    {
        CelBudget.Charge(ElementCost * items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            array[arrayIndex + i] = items[i];
        }
    }

    void ICollection.CopyTo(Array array, int index) => CopyTo((object?[])array, index);

    public void Add(object? item) => throw ReadOnly();

    int IList.Add(object? value) => throw ReadOnly();

    public void Clear() => throw ReadOnly();

    public void Insert(int index, object? item) => throw ReadOnly();

    public bool Remove(object? item) => throw ReadOnly();

    void IList.Remove(object? value) => throw ReadOnly();

    public void RemoveAt(int index) => throw ReadOnly();

    private static NotSupportedException ReadOnly() => new("a CEL list is immutable");
}
