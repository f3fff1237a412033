using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The items of one document's keyed lists by their <see cref="FieldSet"/> path element, each list
/// read once: looking an item up by scanning its list for every field path made a write of a
/// 3,000-port Service quadratic (minutes). The first item of a key wins, as a scan finds it. One per
/// document and write; removing through it keeps it current.
/// </summary>
internal sealed class KeyedItems
{
    private readonly Dictionary<JsonArray, (Dictionary<string, JsonNode> First, HashSet<string> Repeated)> lists = new(ReferenceEqualityComparer.Instance);

    public JsonNode? Find(JsonArray list, string key, Func<JsonNode?, string?> keyOf) => Index(list, keyOf).First.GetValueOrDefault(key);

    /// <summary>Removes the item found for <paramref name="key"/> from its list.</summary>
    public void Remove(JsonArray list, JsonNode item, string key)
    {
        list.Remove(item);
        if (lists.TryGetValue(list, out var index))
        {
            if (index.Repeated.Contains(key))
            {
                lists.Remove(list); // the next item of that key is found by reading the list again (a list upstream would refuse)
            }
            else
            {
                index.First.Remove(key);
            }
        }
    }

    private (Dictionary<string, JsonNode> First, HashSet<string> Repeated) Index(JsonArray list, Func<JsonNode?, string?> keyOf)
    {
        if (!lists.TryGetValue(list, out var index))
        {
            index = (new Dictionary<string, JsonNode>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal));
            foreach (var item in list)
            {
                if (item is not null && keyOf(item) is { } itemKey && !index.First.TryAdd(itemKey, item))
                {
                    index.Repeated.Add(itemKey);
                }
            }
            lists[list] = index;
        }
        return index;
    }
}
