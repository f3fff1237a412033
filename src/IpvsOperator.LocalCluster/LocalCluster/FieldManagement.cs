using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// <c>metadata.managedFields</c>, as the API server keeps them: which manager set which field. A
/// create, update or patch makes its manager own the fields it changed and takes them from every
/// other manager. Server-side apply merges the applied configuration into the object, refuses
/// (409) to change a field another manager owns unless forced, and removes the fields its manager
/// applied before and applies no longer (unless someone else owns them too).
/// </summary>
internal sealed class FieldManagement(TimeProvider time)
{
    private const string Apply = "Apply";
    private const string Update = "Update";

    /// <summary>The server's own metadata: nobody owns it.</summary>
    private static readonly string[] ServerFields =
    [
        "apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion", "metadata.generation",
        "metadata.creationTimestamp", "metadata.deletionTimestamp", "metadata.deletionGracePeriodSeconds", "metadata.managedFields", "metadata.selfLink",
    ];

    private sealed record Entry(string Manager, string Operation, string ApiVersion, string? Subresource, FieldSet Fields, string? Time)
    {
        public bool Is(string manager, string operation, string? subresource) => Manager == manager && Operation == operation && Subresource == subresource;
    }

    /// <summary>
    /// Records a create (<paramref name="old"/> null), update or patch by <paramref name="manager"/>
    /// on <paramref name="updated"/>. The managedFields the request carried are taken as they are,
    /// except none or an empty list (kept as they were: clients unaware of the field never strip
    /// it) and a list of one empty entry (cleared), as upstream.
    /// </summary>
    public void RecordUpdate(ApiResource resource, JsonObject? old, JsonObject updated, string manager, string? subresource)
    {
        var entries = Baseline(resource, old, updated);
        var skip = Skipped(resource, subresource, updated, old);
        var before = old is null ? FieldSet.Empty : FieldSet.Of(old, resource.ListTypes, skip);
        var after = FieldSet.Of(updated, resource.ListTypes, skip);
        var (oldItems, updatedItems) = (new KeyedItems(), new KeyedItems());
        var changed = after.Paths.Where(p => !before.Contains(p) || !SameValue(old, oldItems, updated, updatedItems, p, resource.ListTypes)).ToList();
        var removed = before.Paths.Where(p => !after.Contains(p)).ToList();
        if (changed.Count > 0 || removed.Count > 0)
        {
            var now = Now();
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                entries[i] = entry.Is(manager, Update, subresource)
                    ? entry with { Fields = entry.Fields.Except(removed).Union(changed), Time = now }
                    : entry with { Fields = entry.Fields.Except(changed).Except(removed) };
            }
            if (changed.Count > 0 && !entries.Any(e => e.Is(manager, Update, subresource)))
            {
                entries.Add(new Entry(manager, Update, resource.ApiVersion, subresource, FieldSet.Empty.Union(changed), now));
            }
        }
        Write(updated, entries);
    }

    /// <summary>
    /// Server-side apply of <paramref name="applied"/> by <paramref name="manager"/>: the object to
    /// store (<paramref name="live"/> null: the object to create), with its managedFields.
    /// </summary>
    public JsonObject ApplyTo(ApiResource resource, JsonObject? live, JsonObject applied, string manager, bool force, string? subresource)
    {
        var skip = Skipped(resource, subresource, applied, live);
        var wanted = FieldSet.Of(applied, resource.ListTypes, skip);
        var configuration = Tracked(applied, skip, resource);
        if (live is null)
        {
            var created = (JsonObject)configuration.DeepClone();
            Write(created, [new Entry(manager, Apply, resource.ApiVersion, subresource, wanted, Now())]);
            return created;
        }

        var entries = Parse(live["metadata"]?["managedFields"], resource, ObjectStorage.NameOf(live));
        var previous = entries.FirstOrDefault(e => e.Is(manager, Apply, subresource))?.Fields ?? FieldSet.Empty;
        var conflicts = new List<(Entry Owner, string Path)>();
        var (liveItems, appliedItems) = (new KeyedItems(), new KeyedItems());
        foreach (var owner in entries.Where(e => !e.Is(manager, Apply, subresource)))
        {
            conflicts.AddRange(wanted.Paths.Where(owner.Fields.Contains).Where(p => !SameValue(live, liveItems, applied, appliedItems, p, resource.ListTypes)).Select(p => (owner, p)));
        }
        if (conflicts.Count > 0 && !force)
        {
            throw Conflict(resource, ObjectStorage.NameOf(live), conflicts);
        }
        // Forced: the applier takes the fields; the others keep what they still share with it.
        entries = [.. entries.Select(e => e with { Fields = e.Fields.Except(conflicts.Where(c => c.Owner == e).Select(c => c.Path)) })];

        var merged = (JsonObject)FieldSet.Merge(live, configuration, string.Empty, resource.ListTypes)!;
        var others = entries.Where(e => !e.Is(manager, Apply, subresource)).ToList();
        // Applied before and no longer: removed unless another manager owns it or something under it.
        // Shallowest first: a list item goes whole while its keys still find it.
        var mergedItems = new KeyedItems();
        foreach (var dropped in previous.Paths.Where(p => !wanted.Contains(p)).OrderBy(p => p.Length))
        {
            var field = dropped.EndsWith("\n.", StringComparison.Ordinal) ? dropped[..^2] : dropped;
            if (!others.Any(e => e.Fields.ContainsOrUnder(field)))
            {
                FieldSet.Remove(merged, dropped, resource.ListTypes, mergedItems);
            }
        }
        var mine = new Entry(manager, Apply, resource.ApiVersion, subresource, wanted, Now());
        var at = entries.FindIndex(e => e.Is(manager, Apply, subresource));
        if (at >= 0)
        {
            entries[at] = mine;
        }
        else
        {
            entries.Add(mine);
        }
        Write(merged, entries);
        return merged;
    }

    /// <summary>What a write may touch: the status through /status, everything else (but the server's own metadata) through the main resource.</summary>
    private static HashSet<string> Skipped(ApiResource resource, string? subresource, JsonObject obj, JsonObject? other)
    {
        if (subresource != "status")
        {
            return resource.HasStatus ? ServerFieldsAndStatus : ServerFieldSet; // shared, never changed: every write asks
        }
        var skip = new HashSet<string>(ServerFields, StringComparer.Ordinal);
        skip.UnionWith(obj.Select(p => p.Key).Concat(other?.Select(p => p.Key) ?? []).Where(k => k != "status"));
        return skip;
    }

    private static readonly HashSet<string> ServerFieldSet = new(ServerFields, StringComparer.Ordinal);
    private static readonly HashSet<string> ServerFieldsAndStatus = new([.. ServerFields, "status"], StringComparer.Ordinal);

    /// <summary>The applied configuration without what the write may not touch (but with the name, which says which object).</summary>
    private static JsonObject Tracked(JsonObject applied, HashSet<string> skip, ApiResource resource)
    {
        var copy = (JsonObject)applied.DeepClone();
        foreach (var field in skip.Where(f => !f.Contains('.', StringComparison.Ordinal) && f is not ("apiVersion" or "kind")))
        {
            if (field != "metadata")
            {
                copy.Remove(field);
            }
        }
        copy["apiVersion"] = resource.ApiVersion;
        copy["kind"] = resource.Kind;
        if (copy["metadata"] is JsonObject metadata)
        {
            foreach (var field in new[] { "uid", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink" })
            {
                metadata.Remove(field);
            }
            if (skip.Contains("metadata"))
            {
                // Through /status: the metadata names the object and may hold a resourceVersion precondition, nothing else.
                foreach (var field in metadata.Select(p => p.Key).Where(k => k is not ("name" or "namespace" or "resourceVersion")).ToList())
                {
                    metadata.Remove(field);
                }
            }
        }
        return copy;
    }

    private static bool SameValue(JsonNode? a, KeyedItems aItems, JsonNode? b, KeyedItems bItems, string path, IReadOnlyDictionary<string, string[]> listTypes)
    {
        var (inA, valueA) = FieldSet.ValueAt(a, path, listTypes, aItems);
        var (inB, valueB) = FieldSet.ValueAt(b, path, listTypes, bItems);
        return inA == inB && (path.EndsWith('.') || JsonNode.DeepEquals(valueA, valueB));
    }

    private static List<Entry> Baseline(ApiResource resource, JsonObject? old, JsonObject updated)
    {
        var requested = updated["metadata"]?["managedFields"];
        var kept = old?["metadata"]?["managedFields"];
        return requested switch
        {
            null or JsonArray { Count: 0 } => Parse(kept, resource, ObjectStorage.NameOf(updated)),
            JsonArray { Count: 1 } single when single[0] is JsonObject { Count: 0 } => [],
            _ => Parse(requested, resource, ObjectStorage.NameOf(updated)),
        };
    }

    private static List<Entry> Parse(JsonNode? managedFields, ApiResource resource, string name)
    {
        var entries = new List<Entry>();
        if (managedFields is null)
        {
            return entries;
        }
        if (managedFields is not JsonArray list)
        {
            throw ApiException.Invalid(resource, name, [("metadata.managedFields", "Invalid value: must be a list")]);
        }
        for (var i = 0; i < list.Count; i++)
        {
            var field = $"metadata.managedFields[{i}]";
            if (list[i] is not JsonObject entry)
            {
                throw ApiException.Invalid(resource, name, [(field, "Invalid value: must be an object")]);
            }
            var operation = Text(entry["operation"]);
            if (operation is not (Apply or Update))
            {
                throw ApiException.Invalid(resource, name, [($"{field}.operation", $"Unsupported value: \"{operation}\": supported values: \"Apply\", \"Update\"")]);
            }
            if (entry["fieldsType"] is { } type && Text(type) != "FieldsV1")
            {
                throw ApiException.Invalid(resource, name, [($"{field}.fieldsType", $"Unsupported value: \"{Text(type)}\": supported values: \"FieldsV1\"")]);
            }
            entries.Add(new Entry(Text(entry["manager"]) ?? string.Empty, operation, Text(entry["apiVersion"]) ?? resource.ApiVersion, Text(entry["subresource"]),
                FieldSet.FromFieldsV1(entry["fieldsV1"] as JsonObject), Text(entry["time"])));
        }
        return entries;
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static void Write(JsonObject obj, List<Entry> entries)
    {
        var metadata = obj["metadata"] as JsonObject ?? (JsonObject)(obj["metadata"] = new JsonObject());
        var kept = entries.Where(e => e.Fields.Count > 0).ToList();
        if (kept.Count == 0)
        {
            metadata.Remove("managedFields");
            return;
        }
        metadata["managedFields"] = new JsonArray([.. kept.Select(e =>
        {
            var entry = new JsonObject
            {
                ["manager"] = e.Manager,
                ["operation"] = e.Operation,
                ["apiVersion"] = e.ApiVersion,
                ["time"] = e.Time,
                ["fieldsType"] = "FieldsV1",
                ["fieldsV1"] = e.Fields.ToFieldsV1(),
            };
            if (e.Subresource is not null)
            {
                entry["subresource"] = e.Subresource;
            }
            return (JsonNode)entry;
        })]);
    }

    private static ApiException Conflict(ApiResource resource, string name, List<(Entry Owner, string Path)> conflicts)
    {
        var byOwner = conflicts.GroupBy(c => (c.Owner.Manager, c.Owner.ApiVersion)).ToList();
        var lines = byOwner.Select(g => g.Count() == 1
            ? $"conflict with \"{g.Key.Manager}\" using {g.Key.ApiVersion}: {FieldSet.Display(g.First().Path)}"
            : $"conflicts with \"{g.Key.Manager}\" using {g.Key.ApiVersion}:\n{string.Join('\n', g.Select(c => "- " + FieldSet.Display(c.Path)))}");
        var message = $"Apply failed with {conflicts.Count} conflict{(conflicts.Count == 1 ? string.Empty : "s")}: {string.Join('\n', lines)}";
        return new ApiException(HttpStatusCode.Conflict, "Conflict", message, new JsonObject
            {
                ["name"] = name,
                ["group"] = resource.Group,
                ["kind"] = resource.Plural,
                ["causes"] = new JsonArray([.. conflicts.Select(c => (JsonNode)new JsonObject
                {
                    ["reason"] = "FieldManagerConflict",
                    ["message"] = $"conflict with \"{c.Owner.Manager}\" using {c.Owner.ApiVersion}",
                    ["field"] = FieldSet.Display(c.Path),
                })]),
            });
    }

    private string Now() => time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
