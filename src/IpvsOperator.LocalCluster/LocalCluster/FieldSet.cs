using System.Text;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A set of fields of an object, as server-side apply tracks ownership: leaf paths whose elements
/// are upstream's FieldsV1 keys (<c>f:name</c> a field, <c>k:{"port":80,"protocol":"TCP"}</c> an
/// item of a list merged by keys, <c>v:"a"</c> an item of a set, <c>.</c> a list item itself). A
/// list that <see cref="ApiResource.ListTypes"/> does not name is atomic: one leaf, owned whole.
/// Paths are kept as their elements joined by a newline (which JSON-encoded keys never contain).
/// </summary>
internal sealed class FieldSet
{
    private const char Separator = '\n';
    private readonly HashSet<string> paths;

    private FieldSet(HashSet<string> paths) => this.paths = paths;

    public static FieldSet Empty => new([]);

    public int Count => paths.Count;

    public IEnumerable<string> Paths => paths;

    public bool Contains(string path) => paths.Contains(path);

    /// <summary>Whether this set has <paramref name="path"/> or anything beneath it.</summary>
    public bool ContainsOrUnder(string path) => paths.Contains(path) || Ancestors().Contains(path);

    private HashSet<string>? ancestors;

    // Every proper prefix of a path, made once: asking each path's StartsWith was quadratic in an apply that drops a long list.
    private HashSet<string> Ancestors()
    {
        if (ancestors is null)
        {
            var made = new HashSet<string>(StringComparer.Ordinal);
            foreach (var path in paths)
            {
                for (var at = path.IndexOf(Separator, StringComparison.Ordinal); at >= 0; at = path.IndexOf(Separator, at + 1))
                {
                    made.Add(path[..at]);
                }
            }
            ancestors = made;
        }
        return ancestors;
    }

    public FieldSet Union(IEnumerable<string> more) => new([.. paths, .. more]);

    public FieldSet Except(IEnumerable<string> less)
    {
        var copy = new HashSet<string>(paths, StringComparer.Ordinal);
        copy.ExceptWith(less);
        return new FieldSet(copy);
    }

    /// <summary>The leaves of <paramref name="obj"/>, leaving out what <paramref name="skip"/> names (top-level field paths such as "status" or "metadata.uid").</summary>
    public static FieldSet Of(JsonObject obj, IReadOnlyDictionary<string, string[]> listTypes, IReadOnlySet<string> skip)
    {
        var leaves = new HashSet<string>(StringComparer.Ordinal);
        Collect(obj, string.Empty, string.Empty, listTypes, skip, leaves);
        return new FieldSet(leaves);
    }

    private static void Collect(JsonNode? value, string path, string schemaPath, IReadOnlyDictionary<string, string[]> listTypes, IReadOnlySet<string> skip, HashSet<string> leaves)
    {
        switch (value)
        {
            case JsonObject { Count: > 0 } obj:
                foreach (var (name, child) in obj)
                {
                    var childSchemaPath = schemaPath.Length == 0 ? name : $"{schemaPath}.{name}";
                    if (!skip.Contains(childSchemaPath))
                    {
                        Collect(child, Join(path, "f:" + name), childSchemaPath, listTypes, skip, leaves);
                    }
                }
                return;
            case JsonArray array when listTypes.TryGetValue(schemaPath, out var keys):
                foreach (var item in array)
                {
                    if (KeyOf(item, keys) is not { } key)
                    {
                        leaves.Add(path); // an item without its keys: the list can only be owned whole
                        return;
                    }
                    var itemPath = Join(path, key);
                    if (keys.Length == 0)
                    {
                        leaves.Add(itemPath);
                        continue;
                    }
                    leaves.Add(Join(itemPath, "."));
                    Collect(item, itemPath, schemaPath, listTypes, skip, leaves);
                }
                if (array.Count == 0)
                {
                    leaves.Add(path);
                }
                return;
            default:
                if (path.Length > 0)
                {
                    leaves.Add(path);
                }
                return;
        }
    }

    /// <summary>An item's path element: <c>v:</c> and its value in a set, <c>k:</c> and its keys (defaulted where upstream defaults them) in a map list.</summary>
    private static string? KeyOf(JsonNode? item, string[] keys)
    {
        if (keys.Length == 0)
        {
            return item is JsonObject or JsonArray ? null : "v:" + (item?.ToJsonString() ?? "null");
        }
        if (item is not JsonObject obj)
        {
            return null;
        }
        var key = new JsonObject();
        foreach (var name in keys.Order(StringComparer.Ordinal))
        {
            var part = obj[name]?.DeepClone() ?? DefaultKey(name);
            if (part is null)
            {
                return null;
            }
            key[name] = part;
        }
        return "k:" + key.ToJsonString();
    }

    // Keys the API server defaults before merging (a Service port's protocol).
    private static JsonValue? DefaultKey(string name) => name == "protocol" ? JsonValue.Create("TCP") : null;

    /// <summary>The value at <paramref name="path"/> (found: false when absent; a list item's "." is the item).</summary>
    public static (bool Found, JsonNode? Value) ValueAt(JsonNode? root, string path, IReadOnlyDictionary<string, string[]> listTypes, KeyedItems items)
    {
        var node = root;
        var schemaPath = string.Empty;
        foreach (var element in path.Split(Separator))
        {
            if (element == ".")
            {
                continue;
            }
            if (element.StartsWith("f:", StringComparison.Ordinal))
            {
                var name = element[2..];
                if (node is not JsonObject obj || !obj.TryGetPropertyValue(name, out var child))
                {
                    return (false, null);
                }
                node = child;
                schemaPath = schemaPath.Length == 0 ? name : $"{schemaPath}.{name}";
                continue;
            }
            if (node is not JsonArray array || !listTypes.TryGetValue(schemaPath, out var keys)
                || items.Find(array, element, i => KeyOf(i, keys)) is not { } item)
            {
                return (false, null);
            }
            node = item;
        }
        return (true, node);
    }

    /// <summary>Removes the field or list item at <paramref name="path"/>, if there.</summary>
    public static void Remove(JsonNode root, string path, IReadOnlyDictionary<string, string[]> listTypes, KeyedItems items)
    {
        var elements = path.Split(Separator);
        if (elements[^1] == ".")
        {
            elements = elements[..^1];
        }
        var parentPath = string.Join(Separator, elements[..^1]);
        var (found, parent) = elements.Length == 1 ? (true, root) : ValueAt(root, parentPath, listTypes, items);
        if (!found)
        {
            return;
        }
        var last = elements[^1];
        if (last.StartsWith("f:", StringComparison.Ordinal))
        {
            if (parent is JsonObject map && map.Remove(last[2..]) && map.Count == 0 && elements.Length > 2 && elements[^2].StartsWith("f:", StringComparison.Ordinal))
            {
                Remove(root, parentPath, listTypes, items); // a map left empty (labels without their last label) goes too, as upstream
            }
            return;
        }
        if (parent is JsonArray array && listTypes.TryGetValue(SchemaPath(parentPath), out var keys)
            && items.Find(array, last, i => KeyOf(i, keys)) is { } item)
        {
            items.Remove(array, item, last);
        }
    }

    /// <summary>
    /// <paramref name="applied"/> merged into <paramref name="live"/>: maps field by field, lists
    /// merged by their keys or as sets where the type says so, every other list replaced whole. An
    /// explicit null removes the field.
    /// </summary>
    public static JsonNode? Merge(JsonNode? live, JsonNode? applied, string schemaPath, IReadOnlyDictionary<string, string[]> listTypes)
    {
        switch (live, applied)
        {
            case (JsonObject liveObject, JsonObject appliedObject):
                var merged = (JsonObject)liveObject.DeepClone();
                foreach (var (name, value) in appliedObject)
                {
                    if (value is null)
                    {
                        merged.Remove(name);
                        continue;
                    }
                    var childPath = schemaPath.Length == 0 ? name : $"{schemaPath}.{name}";
                    merged[name] = Merge(liveObject[name], value, childPath, listTypes);
                }
                return merged;
            case (JsonArray liveList, JsonArray appliedList) when listTypes.TryGetValue(schemaPath, out var keys):
                var result = new JsonArray([.. liveList.Select(i => i?.DeepClone())]);
                // Where each key is in the result, read once (a scan per applied item was quadratic).
                var positions = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var i = 0; i < result.Count; i++)
                {
                    if (KeyOf(result[i], keys) is { } present)
                    {
                        positions.TryAdd(present, i);
                    }
                }
                foreach (var item in appliedList)
                {
                    var key = KeyOf(item, keys);
                    if (key is null || !positions.TryGetValue(key, out var at))
                    {
                        if (key is not null)
                        {
                            positions.TryAdd(key, result.Count);
                        }
                        result.Add(item?.DeepClone());
                    }
                    else if (keys.Length > 0)
                    {
                        result[at] = Merge(result[at], item, schemaPath, listTypes);
                    }
                }
                return result;
            default:
                return applied?.DeepClone();
        }
    }

    /// <summary>Upstream's FieldsV1 tree: <c>{"f:spec":{"f:type":{}}}</c>.</summary>
    public JsonObject ToFieldsV1()
    {
        var root = new JsonObject();
        foreach (var path in paths.Order(StringComparer.Ordinal))
        {
            var node = root;
            foreach (var element in path.Split(Separator))
            {
                node = node[element] as JsonObject ?? (JsonObject)(node[element] = new JsonObject());
            }
        }
        return root;
    }

    public static FieldSet FromFieldsV1(JsonObject? tree)
    {
        var leaves = new HashSet<string>(StringComparer.Ordinal);
        void Walk(JsonObject node, string path)
        {
            foreach (var (element, child) in node)
            {
                var childPath = Join(path, element);
                if (child is JsonObject { Count: > 0 } inner)
                {
                    Walk(inner, childPath);
                }
                else
                {
                    leaves.Add(childPath);
                }
            }
        }
        if (tree is not null)
        {
            Walk(tree, string.Empty);
        }
        return new FieldSet(leaves);
    }

    /// <summary>A path as upstream prints it in a conflict: <c>.spec.ports[port=80,protocol="TCP"].targetPort</c>.</summary>
    public static string Display(string path)
    {
        var text = new StringBuilder();
        foreach (var element in path.Split(Separator))
        {
            if (element.StartsWith("f:", StringComparison.Ordinal))
            {
                text.Append('.').Append(element[2..]);
            }
            else if (element.StartsWith("k:", StringComparison.Ordinal) && JsonNode.Parse(element[2..]) is JsonObject key)
            {
                text.Append('[').AppendJoin(',', key.Select(k => $"{k.Key}={k.Value?.ToJsonString()}")).Append(']');
            }
            else if (element.StartsWith("v:", StringComparison.Ordinal))
            {
                text.Append("[=").Append(element[2..]).Append(']');
            }
        }
        return text.ToString();
    }

    private static string Join(string path, string element) => path.Length == 0 ? element : path + Separator + element;

    // The dotted path of field names a list type is declared for (list items add nothing).
    private static string SchemaPath(string path) =>
        string.Join('.', path.Split(Separator).Where(e => e.StartsWith("f:", StringComparison.Ordinal)).Select(e => e[2..]));
}
