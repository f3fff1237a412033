using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The three patch formats of the API server. Strategic merge patch merges lists by key only for
/// the fields a type declares in <see cref="ApiResource.MergeKeys"/>; other lists are replaced. Its
/// directives (<c>$patch</c>, <c>$deleteFromPrimitiveList</c>, <c>$setElementOrder</c>,
/// <c>$retainKeys</c>) are carried out and never stored; an unknown one is refused.
/// </summary>
internal static class Patches
{
    public const string Merge = "application/merge-patch+json";
    public const string Json = "application/json-patch+json";
    public const string Strategic = "application/strategic-merge-patch+json";
    public const string Apply = "application/apply-patch+yaml";

    /// <summary>RFC 7386: objects merge, null deletes, everything else replaces.</summary>
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }
        var result = target as JsonObject is { } targetObject ? (JsonObject)targetObject.DeepClone() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }
        return result;
    }

    public static JsonNode? StrategicMergePatch(JsonNode? target, JsonNode? patch, IReadOnlyDictionary<string, string?> mergeKeys, string path = "")
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }
        if (Directive(patchObject, path) == "replace")
        {
            var replaced = (JsonObject)patchObject.DeepClone();
            replaced.Remove("$patch");
            return replaced;
        }
        var result = target is JsonObject targetObject ? (JsonObject)targetObject.DeepClone() : new JsonObject();
        var orders = new List<(string Field, JsonArray Order)>();
        foreach (var (key, value) in patchObject)
        {
            if (key.StartsWith("$setElementOrder/", StringComparison.Ordinal))
            {
                orders.Add((key["$setElementOrder/".Length..], value as JsonArray ?? throw ApiException.BadRequest($"strategic merge patch: {key} must be a list")));
                continue;
            }
            if (key is "$retainKeys" or "$patch")
            {
                if (key == "$patch" && Directive(patchObject, path) is not "merge")
                {
                    throw ApiException.BadRequest($"strategic merge patch: unknown patch type \"{value}\" at {Where(path)}");
                }
                continue;
            }
            if (key.StartsWith('$') && !key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                throw ApiException.BadRequest($"strategic merge patch: unknown directive \"{key}\"");
            }
            if (key.StartsWith("$deleteFromPrimitiveList/", StringComparison.Ordinal))
            {
                var field = key["$deleteFromPrimitiveList/".Length..];
                if (result[field] is JsonArray list && value is JsonArray remove)
                {
                    var removeSet = remove.Select(v => v?.ToJsonString()).ToHashSet();
                    result[field] = new JsonArray([.. list.Where(v => !removeSet.Contains(v?.ToJsonString())).Select(v => v?.DeepClone())]);
                }
                continue;
            }
            var childPath = path.Length == 0 ? key : $"{path}.{key}";
            if (value is null)
            {
                result.Remove(key);
            }
            else if (value is JsonArray patchList && mergeKeys.TryGetValue(childPath, out var mergeKey))
            {
                result[key] = MergeList(result[key] as JsonArray, patchList, mergeKey, mergeKeys, childPath);
            }
            else
            {
                result[key] = StrategicMergePatch(result[key], value, mergeKeys, childPath);
            }
        }
        foreach (var (field, order) in orders)
        {
            if (result[field] is JsonArray list)
            {
                var childPath = path.Length == 0 ? field : $"{path}.{field}";
                result[field] = Ordered(list, order, mergeKeys.GetValueOrDefault(childPath), childPath);
            }
        }
        if (patchObject["$retainKeys"] is JsonArray retain)
        {
            // Only the fields listed stay (a union type switching member: the old member's fields go).
            var kept = retain.Select(k => k is JsonValue v && v.TryGetValue<string>(out var text) ? text
                : throw ApiException.BadRequest($"strategic merge patch: $retainKeys at {Where(path)} must list field names, got {k?.ToJsonString() ?? "null"}")).ToHashSet();
            foreach (var key in result.Select(p => p.Key).Where(k => !kept.Contains(k)).ToList())
            {
                result.Remove(key);
            }
        }
        return result;
    }

    /// <summary>The <c>$patch</c> directive of an object, if any: text, or a 400 naming what it is.</summary>
    private static string? Directive(JsonObject patch, string path) => patch["$patch"] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        var other => throw ApiException.BadRequest($"strategic merge patch: $patch at {Where(path)} must be one of replace, merge or delete, got {other.ToJsonString()}"),
    };

    private static string Where(string path) => path.Length == 0 ? "the top" : path;

    /// <summary>$setElementOrder: the items it names in its order, then the others as they were.</summary>
    private static JsonArray Ordered(JsonArray list, JsonArray order, string? mergeKey, string path)
    {
        foreach (var named in order)
        {
            if (mergeKey is null ? named is JsonObject or JsonArray : named is not JsonObject { } item || item[mergeKey] is null)
            {
                throw ApiException.BadRequest(mergeKey is null
                    ? $"strategic merge patch: $setElementOrder/{path} must list values, got {named?.ToJsonString() ?? "null"}"
                    : $"strategic merge patch: $setElementOrder/{path} must list objects with their merge key \"{mergeKey}\", got {named?.ToJsonString() ?? "null"}");
            }
        }
        string? Identity(JsonNode? item) => mergeKey is null ? item?.ToJsonString() : item?[mergeKey]?.ToJsonString();
        var items = list.Select(i => i?.DeepClone()).ToList();
        var rank = order.Select((o, i) => (Key: Identity(o), i)).Where(p => p.Key is not null).GroupBy(p => p.Key!).ToDictionary(g => g.Key, g => g.First().i);
        var sorted = items.Where(i => Identity(i) is { } id && rank.ContainsKey(id)).OrderBy(i => rank[Identity(i)!])
            .Concat(items.Where(i => Identity(i) is not { } id || !rank.ContainsKey(id)));
        return new JsonArray([.. sorted]);
    }

    private static JsonArray MergeList(JsonArray? target, JsonArray patch, string? mergeKey, IReadOnlyDictionary<string, string?> mergeKeys, string path)
    {
        var result = target is null ? new JsonArray() : (JsonArray)target.DeepClone();
        if (mergeKey is null)
        {
            // A list of primitives with patchStrategy merge: the union, in order.
            var present = result.Select(v => v?.ToJsonString()).ToHashSet();
            foreach (var item in patch.Where(item => present.Add(item?.ToJsonString())))
            {
                result.Add(item?.DeepClone());
            }
            return result;
        }
        // Each item's places by its merge key, read once: a scan of the list per patch item made a
        // strategic merge patch of 4,000 ports take 15 s. Deleted items leave holes, closed at the end;
        // the first remaining item of a key is the one a scan would have found.
        var items = result.ToList();
        var places = new Dictionary<string, Queue<int>>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is JsonObject item && item[mergeKey] is { } itemKey)
            {
                Place(itemKey.ToJsonString(), i);
            }
        }
        var deleted = new HashSet<int>();
        foreach (var item in patch)
        {
            if (item is not JsonObject patchItem || patchItem[mergeKey] is not { } keyValue)
            {
                throw ApiException.BadRequest($"strategic merge patch: an item of {path} lacks its merge key \"{mergeKey}\"");
            }
            var key = keyValue.ToJsonString();
            var found = places.TryGetValue(key, out var at) && at.Count > 0;
            if (Directive(patchItem, path) == "delete")
            {
                if (found)
                {
                    deleted.Add(at!.Dequeue());
                }
                continue;
            }
            if (!found)
            {
                Place(key, items.Count);
                items.Add(StrategicMergePatch(null, patchItem, mergeKeys, path)); // its directives carried out, not stored
                continue;
            }
            var index = at!.Peek();
            items[index] = StrategicMergePatch(items[index], patchItem, mergeKeys, path);
        }
        return new JsonArray([.. items.Where((_, i) => !deleted.Contains(i)).Select(i => i?.DeepClone())]);

        void Place(string key, int index)
        {
            if (!places.TryGetValue(key, out var queue))
            {
                places[key] = queue = new Queue<int>();
            }
            queue.Enqueue(index);
        }
    }

    /// <summary>RFC 6902 with JSON pointers (RFC 6901).</summary>
    public static JsonNode? JsonPatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonArray operations)
        {
            throw ApiException.BadRequest("a JSON patch must be an array of operations");
        }
        if (operations.Count > RequestLimits.MaxJsonPatchOperations)
        {
            throw new ApiException(System.Net.HttpStatusCode.RequestEntityTooLarge, "RequestEntityTooLarge",
                $"The allowed maximum operations in a JSON patch is {RequestLimits.MaxJsonPatchOperations}, got {operations.Count}");
        }
        var document = target?.DeepClone();
        long copied = 0;
        foreach (var operation in operations.OfType<JsonObject>())
        {
            var op = Text(operation, "op") ?? throw ApiException.BadRequest("a JSON patch operation lacks \"op\"");
            var path = Text(operation, "path") ?? throw ApiException.BadRequest($"the JSON patch operation \"{op}\" lacks \"path\"");
            switch (op)
            {
                case "add":
                    document = Add(document, path, operation["value"]?.DeepClone(), insert: true);
                    break;
                case "replace":
                    Get(document, path);
                    document = Add(document, path, operation["value"]?.DeepClone(), insert: false);
                    break;
                case "remove":
                    document = Remove(document, path);
                    break;
                case "move":
                {
                    var from = Text(operation, "from") ?? throw ApiException.BadRequest("move needs \"from\"");
                    var value = Placed(Get(document, from), path)?.DeepClone();
                    document = Add(Remove(document, from), path, value, insert: true);
                    break;
                }
                case "copy":
                {
                    var from = Text(operation, "from") ?? throw ApiException.BadRequest("copy needs \"from\"");
                    var value = Placed(Get(document, from), path);
                    // As upstream's json-patch: what copies add is bounded, or 25 doublings of a small object fill any memory.
                    copied += value?.ToJsonString().Length ?? 4;
                    if (copied > RequestLimits.MaxBodyBytes)
                    {
                        throw new ApiException((System.Net.HttpStatusCode)422, "Invalid",
                            $"Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {RequestLimits.MaxBodyBytes}");
                    }
                    document = Add(document, path, value?.DeepClone(), insert: true);
                    break;
                }
                case "test":
                    if (Get(document, path)?.ToJsonString() != operation["value"]?.ToJsonString())
                    {
                        throw new ApiException((System.Net.HttpStatusCode)422, "Invalid", $"the JSON patch test at {path} failed");
                    }
                    break;
                default:
                    throw ApiException.BadRequest($"unknown JSON patch operation \"{op}\"; valid: add, remove, replace, move, copy, test");
            }
        }
        return document;
    }

    private static string? Text(JsonObject operation, string field) => operation[field] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        var other => throw ApiException.BadRequest($"the JSON patch operation's \"{field}\" must be text, got {other.ToJsonString()}"),
    };

    /// <summary><paramref name="value"/>, if put at <paramref name="path"/> nests no deeper than the limit: moves and copies could otherwise nest without bound.</summary>
    private static JsonNode? Placed(JsonNode? value, string path)
    {
        if (Pointer(path).Length + RequestLimits.DepthOf(value) > RequestLimits.MaxDepth)
        {
            throw new ApiException((System.Net.HttpStatusCode)422, "Invalid", $"the JSON patch would nest the object deeper than {RequestLimits.MaxDepth} levels at {path}");
        }
        return value;
    }

    private static string[] Pointer(string path) =>
        path.Length == 0 ? [] : path.TrimStart('/').Split('/').Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();

    private static JsonNode? Get(JsonNode? document, string path) => Walk(document, Pointer(path), path);

    private static JsonNode? Walk(JsonNode? document, IEnumerable<string> tokens, string path)
    {
        var node = document;
        foreach (var token in tokens)
        {
            node = node switch
            {
                JsonObject o when o.ContainsKey(token) => o[token],
                JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw new ApiException((System.Net.HttpStatusCode)422, "Invalid", $"the JSON patch path {path} does not exist"),
            };
        }
        return node;
    }

    private static JsonNode? Add(JsonNode? document, string path, JsonNode? value, bool insert)
    {
        var tokens = Pointer(path);
        if (tokens.Length == 0)
        {
            return value;
        }
        var parent = Walk(document, tokens[..^1], path);
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count:
                if (insert)
                {
                    a.Insert(i, value);
                }
                else
                {
                    a[i] = value;
                }
                break;
            default:
                throw new ApiException((System.Net.HttpStatusCode)422, "Invalid", $"the JSON patch path {path} does not exist");
        }
        return document;
    }

    private static JsonNode? Remove(JsonNode? document, string path)
    {
        var tokens = Pointer(path);
        if (tokens.Length == 0)
        {
            throw new ApiException((System.Net.HttpStatusCode)422, "Invalid", "a JSON patch cannot remove the whole document");
        }
        var parent = Walk(document, tokens[..^1], path);
        var last = tokens[^1];
        var removed = parent switch
        {
            JsonObject o => o.Remove(last),
            JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count => RemoveAt(a, i),
            _ => false,
        };
        return removed ? document : throw new ApiException((System.Net.HttpStatusCode)422, "Invalid", $"the JSON patch path {path} does not exist");
    }

    private static bool RemoveAt(JsonArray array, int index)
    {
        array.RemoveAt(index);
        return true;
    }
}
