using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace IpvsOperator.LocalCluster;

/// <summary>Options of a write, from its query string.</summary>
public sealed record WriteOptions(string FieldValidation = "Warn", bool DryRun = false, string FieldManager = WriteOptions.UnknownManager, bool Force = false)
{
    /// <summary>The manager of a write that names none and whose client sends no user agent.</summary>
    public const string UnknownManager = "unknown";

    /// <summary>
    /// Fields the type does not have, already dropped: a 400 under fieldValidation Strict (what
    /// kubectl sends), a warning under Warn (the default), nothing under Ignore; as upstream.
    /// </summary>
    public void ReportUnknownFields(IReadOnlyList<string> unknown)
    {
        if (unknown.Count == 0)
        {
            return;
        }
        if (FieldValidation == "Strict")
        {
            throw ApiException.BadRequest($"strict decoding error: {string.Join(", ", unknown.Select(f => $"unknown field \"{f}\""))}");
        }
        if (FieldValidation != "Ignore")
        {
            Warnings.AddRange(unknown.Select(f => $"unknown field \"{f}\""));
        }
    }

    public List<string> Warnings { get; } = [];

    /// <summary>Who makes the write (impersonation applied), as admission is told; none: the server itself, as the administrator.</summary>
    public UserInfo? User { get; init; }
}

/// <summary>
/// The API server's semantics over <see cref="ObjectStorage"/>: metadata an API server owns
/// (uid, creationTimestamp, generation, resourceVersion), the status subresource, optimistic
/// concurrency, finalizers and graceful deletion, garbage collection by owner references,
/// namespace lifecycle, schemas of custom resources, and validating admission.
/// </summary>
public sealed partial class ClusterApi(ObjectStorage storage, ResourceRegistry registry, AdmissionDispatcher admission, TimeProvider time)
{
    private const int UnconditionalRetries = 8;
    private readonly ServiceDefaults services = new();
    private readonly FieldManagement fields = new(time);

    public ObjectStorage Storage => storage;

    public ResourceRegistry Registry => registry;

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    public JsonObject Get(ApiResource resource, string ns, string name) =>
        Shown(resource, storage.Get(StoredAs(resource), ns, name) ?? throw ApiException.NotFound(resource, name));

    /// <summary>The resource whose storage holds <paramref name="resource"/>'s objects: itself, unless it is served converted.</summary>
    private static ApiResource StoredAs(ApiResource resource) => resource.Conversion?.Stored ?? resource;

    /// <summary>A stored object as <paramref name="resource"/> shows it.</summary>
    private static JsonObject Shown(ApiResource resource, JsonObject stored) => resource.Conversion?.FromStored(stored) ?? stored;

    /// <summary>
    /// A body written through a converted resource, as its stored type: checked against its own
    /// type (apiVersion, kind, fields) and validation first, as upstream validates in the version asked.
    /// </summary>
    private static JsonObject ToStored(ApiResource resource, ResourceConversion conversion, JsonObject body, JsonObject? old, WriteOptions options)
    {
        var obj = (JsonObject)body.DeepClone();
        CheckTypeOf(resource, obj);
        CheckKnownFields(resource, obj, options);
        if (conversion.Validate(obj, old) is { Count: > 0 } causes)
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(obj), causes);
        }
        return conversion.ToStored(obj);
    }

    /// <summary>
    /// A list, or a page of one: every page of a list is the snapshot its first page was read at
    /// (the continue token carries its revision). <paramref name="resourceVersionMatch"/> Exact
    /// reads the state at <paramref name="resourceVersion"/>; NotOlderThan (or no match) reads now,
    /// which is never older.
    /// </summary>
    public JsonObject List(ApiResource resource, string? ns, ObjectFilter filter, int limit, string? continueToken, string? resourceVersion = null, string? resourceVersionMatch = null)
    {
        string? after = null;
        long? at = null;
        var requested = ParseListVersion(resourceVersion, resourceVersionMatch, continueToken);
        if (!string.IsNullOrEmpty(continueToken))
        {
            var (tokenRevision, start) = ContinueToken.Parse(continueToken);
            if (tokenRevision < storage.CompactedRevision)
            {
                throw ApiException.Gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
            }
            after = start;
            at = tokenRevision;
        }
        else if (resourceVersionMatch == "Exact")
        {
            at = requested;
        }
        else if (requested is { } notOlderThan && notOlderThan > storage.Revision)
        {
            throw new ApiException(HttpStatusCode.GatewayTimeout, "Timeout", $"Too large resource version: {notOlderThan}, current: {storage.Revision}");
        }
        var (items, revision, lastId, more) = storage.List(StoredAs(resource), ns, filter, after, limit, at);
        var metadata = new JsonObject { ["resourceVersion"] = revision.ToString(CultureInfo.InvariantCulture) };
        if (more && lastId is not null)
        {
            metadata["continue"] = ContinueToken.Make(revision, lastId);
            if (filter.IsEverything)
            {
                // As etcd's count serves it: only without selectors, which it cannot count through.
                metadata["remainingItemCount"] = storage.CountAfter(StoredAs(resource), ns, lastId, revision);
            }
        }
        return new JsonObject
        {
            ["kind"] = resource.Kind + "List",
            ["apiVersion"] = resource.ApiVersion,
            ["metadata"] = metadata,
            ["items"] = new JsonArray([.. items.Select(item => Shown(resource, item))]),
        };
    }

    /// <summary>A list's resourceVersion and resourceVersionMatch, checked as upstream checks ListOptions (422 on a bad combination).</summary>
    private static long? ParseListVersion(string? resourceVersion, string? match, string? continueToken)
    {
        if (string.IsNullOrEmpty(match))
        {
            return string.IsNullOrEmpty(resourceVersion) || resourceVersion == "0" ? null : ParseVersion(resourceVersion);
        }
        if (match is not ("Exact" or "NotOlderThan"))
        {
            throw ApiException.InvalidOptions("ListOptions.meta.k8s.io", "resourceVersionMatch", $"Unsupported value: \"{match}\": supported values: \"Exact\", \"NotOlderThan\"");
        }
        if (string.IsNullOrEmpty(resourceVersion))
        {
            throw ApiException.InvalidOptions("ListOptions.meta.k8s.io", "resourceVersionMatch", "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided");
        }
        if (!string.IsNullOrEmpty(continueToken))
        {
            throw ApiException.InvalidOptions("ListOptions.meta.k8s.io", "resourceVersionMatch", "Forbidden: resourceVersionMatch is forbidden when continue is provided");
        }
        if (match == "Exact" && resourceVersion == "0")
        {
            throw ApiException.InvalidOptions("ListOptions.meta.k8s.io", "resourceVersionMatch", "Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
        }
        return resourceVersion == "0" ? null : ParseVersion(resourceVersion);
    }

    private static long ParseVersion(string resourceVersion) =>
        long.TryParse(resourceVersion, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw ApiException.BadRequest($"resourceVersion \"{resourceVersion}\" is not a valid resource version");

    /// <summary>
    /// A watch from <paramref name="resourceVersion"/> (none or "0": every current object first, as
    /// ADDED). With <paramref name="sendInitialEvents"/> (a streaming list, as client-go's
    /// WatchList does) every current object comes first whatever the version, then a bookmark
    /// annotated k8s.io/initial-events-end; it needs resourceVersionMatch=NotOlderThan and
    /// bookmarks, as upstream.
    /// </summary>
    public ObjectWatch Watch(ApiResource resource, string? ns, ObjectFilter filter, string? resourceVersion, bool? sendInitialEvents = null,
        string? resourceVersionMatch = null, bool bookmarks = false)
    {
        // Upstream's validateWatchOptions: a match needs sendInitialEvents (true or false), and only NotOlderThan is one.
        var problems = new List<(string, string)>();
        if (sendInitialEvents is not null && resourceVersionMatch != "NotOlderThan")
        {
            problems.Add(("resourceVersionMatch", "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"));
        }
        if (!string.IsNullOrEmpty(resourceVersionMatch))
        {
            if (sendInitialEvents is null)
            {
                problems.Add(("resourceVersionMatch", "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"));
            }
            if (resourceVersionMatch != "NotOlderThan")
            {
                problems.Add(("resourceVersionMatch", $"Unsupported value: \"{resourceVersionMatch}\": supported values: \"NotOlderThan\""));
            }
        }
        if (sendInitialEvents == true && !bookmarks)
        {
            problems.Add(("allowWatchBookmarks", "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true"));
        }
        if (problems.Count > 0)
        {
            throw ApiException.InvalidOptions("ListOptions.meta.k8s.io", problems[0].Item1, problems[0].Item2);
        }
        if (sendInitialEvents == true)
        {
            if (!string.IsNullOrEmpty(resourceVersion) && resourceVersion != "0" && ParseVersion(resourceVersion) > storage.Revision)
            {
                throw new ApiException(HttpStatusCode.GatewayTimeout, "Timeout", $"Too large resource version: {resourceVersion}, current: {storage.Revision}");
            }
            return storage.Watch(StoredAs(resource), ns, filter, null, initialEventsEnd: true);
        }
        long? from = string.IsNullOrEmpty(resourceVersion) || resourceVersion == "0" ? null : ParseVersion(resourceVersion);
        return storage.Watch(StoredAs(resource), ns, filter, from);
    }

    public async Task<JsonObject> CreateAsync(ApiResource resource, string ns, JsonObject body, WriteOptions options, CancellationToken cancellationToken) =>
        resource.Conversion is { } conversion
            ? conversion.FromStored(await CreateAsync(conversion.Stored, ns, ToStored(resource, conversion, body, null, options), options, applied: false, cancellationToken))
            : await CreateAsync(resource, ns, body, options, applied: false, cancellationToken);

    /// <param name="applied">Made by server-side apply, which wrote its managedFields already.</param>
    private async Task<JsonObject> CreateAsync(ApiResource resource, string ns, JsonObject body, WriteOptions options, bool applied, CancellationToken cancellationToken)
    {
        var (obj, metadata, name) = ClientInput.Read(() => NameForCreate(resource, body, options));
        CheckName(resource, name);
        if (resource.Namespaced)
        {
            var bodyNamespace = metadata["namespace"]?.GetValue<string>();
            if (!string.IsNullOrEmpty(bodyNamespace) && bodyNamespace != ns)
            {
                throw ApiException.BadRequest($"the namespace of the provided object ({bodyNamespace}) does not match the namespace sent on the request ({ns})");
            }
            metadata["namespace"] = ns;
            var owner = storage.Get(ResourceRegistry.Namespaces, string.Empty, ns) ?? throw ApiException.NotFound(ResourceRegistry.Namespaces, ns);
            if (owner["metadata"]?["deletionTimestamp"] is not null)
            {
                throw ApiException.Forbidden(resource, name, $"unable to create new content in namespace {ns} because it is being terminated");
            }
        }
        else
        {
            metadata.Remove("namespace");
        }
        if (!string.IsNullOrEmpty(metadata["resourceVersion"]?.GetValue<string>()))
        {
            throw ApiException.BadRequest("resourceVersion should not be set on objects to be created");
        }
        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["creationTimestamp"] = Now();
        metadata.Remove("resourceVersion");
        metadata.Remove("deletionTimestamp");
        metadata.Remove("deletionGracePeriodSeconds");
        if (resource.TracksGeneration)
        {
            metadata["generation"] = 1L;
        }
        else
        {
            metadata.Remove("generation");
        }
        PrepareForCreate(resource, obj, options);
        if (!applied)
        {
            fields.RecordUpdate(resource, null, obj, options.FieldManager, null);
        }
        try
        {
            Validate(resource, obj, null);
            options.Warnings.AddRange(await admission.ValidateAsync(new AdmissionAttributes(resource, "CREATE", ns, name, null, obj, null,
                options.DryRun, AdmissionOptions.Create(options)) { User = options.User }, cancellationToken));
        }
        catch
        {
            ReleaseAllocations(resource, obj);
            throw;
        }
        if (options.DryRun)
        {
            // Validated and admitted, as it would be stored; nothing kept (its cluster IP and node ports go back).
            ReleaseAllocations(resource, obj);
            // A name that is taken fails as the real create would: a dry run answers what the write would.
            return storage.Get(resource, ns, name) is null ? obj : throw ApiException.AlreadyExists(resource, name);
        }
        JsonObject created;
        try
        {
            created = storage.Create(resource, obj);
        }
        catch
        {
            ReleaseAllocations(resource, obj);
            throw;
        }
        if (resource == ResourceRegistry.CustomResourceDefinitions || resource.Key == ResourceRegistry.CustomResourceDefinitions.Key)
        {
            registry.Add(ResourceRegistry.FromDefinition(created));
        }
        await CollectIfOwnerlessAsync(resource, created, cancellationToken);
        return created;
    }

    public async Task<JsonObject> UpdateAsync(ApiResource resource, string ns, string name, JsonObject body, string? subresource, WriteOptions options, CancellationToken cancellationToken)
    {
        if (resource.Conversion is { } conversion)
        {
            var stored = ToStored(resource, conversion, body, Get(resource, ns, name), options);
            return conversion.FromStored(await UpdateAsync(conversion.Stored, ns, name, stored, subresource, options, cancellationToken));
        }
        return await WriteAsync(resource, ns, name, subresource, options, existing =>
        {
            var requested = (JsonObject)body.DeepClone();
            var version = ObjectStorage.ResourceVersionOf(requested);
            if (version.Length == 0)
            {
                if (!resource.AllowUnconditionalUpdate)
                {
                    throw ApiException.Invalid(resource, name, [("metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")]);
                }
                requested["metadata"] ??= new JsonObject();
                requested["metadata"]!["resourceVersion"] = ObjectStorage.ResourceVersionOf(existing);
                return (requested, false, false);
            }
            return (requested, true, false);
        }, cancellationToken);
    }

    public async Task<JsonObject> PatchAsync(ApiResource resource, string ns, string name, string contentType, JsonNode? patch, string? subresource, WriteOptions options, CancellationToken cancellationToken)
    {
        if (resource.Conversion is { } conversion)
        {
            // Patched as the client sees the object, then stored as its stored type.
            return conversion.FromStored(await WriteAsync(conversion.Stored, ns, name, subresource, options, existing =>
            {
                var shown = conversion.FromStored(existing);
                var patched = ToStored(resource, conversion, Patched(resource, shown, contentType, patch), shown, options);
                return (patched, ObjectStorage.ResourceVersionOf(patched) != ObjectStorage.ResourceVersionOf(existing), false);
            }, cancellationToken));
        }
        return await WriteAsync(resource, ns, name, subresource, options, existing =>
        {
            var patched = Patched(resource, existing, contentType, patch);
            // A patch is conditional only when it names a resourceVersion of its own.
            var conditional = ObjectStorage.ResourceVersionOf(patched) != ObjectStorage.ResourceVersionOf(existing);
            return (patched, conditional, false);
        }, cancellationToken);
    }

    /// <summary><paramref name="existing"/> with the patch applied, by its media type.</summary>
    private static JsonObject Patched(ApiResource resource, JsonObject existing, string contentType, JsonNode? patch) =>
        contentType.Split(';')[0].Trim() switch
        {
            Patches.Merge => Patches.MergePatch(existing, patch),
            Patches.Json => Patches.JsonPatch(existing, patch),
            Patches.Strategic when resource.IsCustom => throw ApiException.UnsupportedMediaType(
                $"the body of the request was in an unknown format - accepted media types include: {Patches.Json}, {Patches.Merge}"),
            Patches.Strategic => Patches.StrategicMergePatch(existing, patch, resource.MergeKeys),
            _ => throw ApiException.UnsupportedMediaType(
                $"the body of the request was in an unknown format - accepted media types include: {Patches.Json}, {Patches.Merge}, {Patches.Apply}, {Patches.Strategic}"),
        } as JsonObject ?? throw ApiException.BadRequest("the patch did not produce an object");

    /// <summary>
    /// Server-side apply (<c>application/apply-patch+yaml</c>): creates the object from the applied
    /// configuration, or merges it into the object, with field ownership and conflicts (see
    /// <see cref="FieldManagement"/>). Unconditional unless the configuration names a resourceVersion.
    /// </summary>
    /// <returns>The object, and whether the apply created it (answered 201, as upstream).</returns>
    public async Task<(JsonObject Object, bool Created)> ApplyAsync(ApiResource resource, string ns, string name, JsonObject configuration, string? subresource, WriteOptions options,
        CancellationToken cancellationToken)
    {
        if (resource.Conversion is not null)
        {
            throw ApiException.UnsupportedMediaType(
                $"server-side apply of {resource.QualifiedName} is not served here; apply {resource.Conversion.Stored.Kind}s of {resource.Conversion.Stored.ApiVersion}, or send {Patches.Merge}");
        }
        CheckApplied(resource, configuration, name);
        for (var attempt = 0; ; attempt++)
        {
            if (storage.Get(resource, ns, name) is null)
            {
                if (subresource is not null)
                {
                    throw ApiException.NotFound(resource, name);
                }
                try
                {
                    var created = fields.ApplyTo(resource, null, configuration, options.FieldManager, options.Force, null);
                    return (await CreateAsync(resource, ns, created, options, applied: true, cancellationToken), true);
                }
                catch (ApiException exists) when (exists.Reason == "AlreadyExists" && attempt == 0)
                {
                    continue; // made meanwhile: apply to it
                }
            }
            try
            {
                return (await WriteAsync(resource, ns, name, subresource, options, existing =>
                {
                    var merged = fields.ApplyTo(resource, existing, configuration, options.FieldManager, options.Force, subresource);
                    var conditional = ObjectStorage.ResourceVersionOf(configuration).Length > 0;
                    return (merged, conditional, true);
                }, cancellationToken), false);
            }
            catch (ApiException gone) when (gone.Code == HttpStatusCode.NotFound && attempt == 0 && subresource is null)
            {
                continue; // deleted meanwhile: apply creates it
            }
        }
    }

    private static void CheckApplied(ApiResource resource, JsonObject configuration, string name)
    {
        var apiVersion = configuration["apiVersion"]?.GetValue<string>();
        var kind = configuration["kind"]?.GetValue<string>();
        if (string.IsNullOrEmpty(apiVersion) || string.IsNullOrEmpty(kind))
        {
            throw ApiException.BadRequest("invalid object: apiVersion and kind must be set in an applied configuration");
        }
        if (apiVersion != resource.ApiVersion || kind != resource.Kind)
        {
            throw ApiException.BadRequest($"the applied configuration is a {kind} of {apiVersion}; this is the endpoint of {resource.Kind} in {resource.ApiVersion}");
        }
        if (configuration["metadata"]?["name"]?.GetValue<string>() is { } named && named != name)
        {
            throw ApiException.BadRequest($"the name of the object ({named}) does not match the name on the URL ({name})");
        }
    }

    /// <summary>Namespaces the NamespaceLifecycle admission plugin never lets go.</summary>
    private static readonly HashSet<string> ImmortalNamespaces = ["default", "kube-system", "kube-public"];

    /// <param name="user">Who deletes, as admission is told; none: the server itself (its garbage collector, a namespace's cleanup).</param>
    public async Task<JsonObject> DeleteAsync(ApiResource resource, string ns, string name, JsonObject? deleteOptions, CancellationToken cancellationToken, bool dryRun = false,
        UserInfo? user = null)
    {
        if (resource.Conversion is { } conversion)
        {
            return conversion.FromStored(await DeleteAsync(conversion.Stored, ns, name, deleteOptions, cancellationToken, dryRun, user));
        }
        var existing = Get(resource, ns, name);
        if (resource.Key == ResourceRegistry.Namespaces.Key && ImmortalNamespaces.Contains(name))
        {
            throw ApiException.Forbidden(resource, name, "this namespace may not be deleted");
        }
        var metadata = existing["metadata"]!.AsObject();
        if (deleteOptions?["preconditions"] is JsonObject preconditions)
        {
            if (preconditions["uid"]?.GetValue<string>() is { } uid && uid != metadata["uid"]?.GetValue<string>())
            {
                throw ApiException.Conflict(resource, name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {metadata["uid"]}");
            }
            if (preconditions["resourceVersion"]?.GetValue<string>() is { } version && version != metadata["resourceVersion"]?.GetValue<string>())
            {
                throw ApiException.Conflict(resource, name, $"Precondition failed: ResourceVersion in precondition: {version}, ResourceVersion in object meta: {metadata["resourceVersion"]}");
            }
        }
        var policy = deleteOptions?["propagationPolicy"]?.GetValue<string>() ?? (deleteOptions?["orphanDependents"]?.GetValue<bool>() == true ? "Orphan" : "Background");
        if (policy is not ("Orphan" or "Background" or "Foreground"))
        {
            throw ApiException.InvalidOptions("DeleteOptions.meta.k8s.io", "propagationPolicy",
                $"Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
        }
        await admission.ValidateAsync(new AdmissionAttributes(resource, "DELETE", ns, name, null, null, existing,
            dryRun, AdmissionOptions.Delete(deleteOptions, dryRun)) { User = user }, cancellationToken);
        var isNamespace = resource.Key == ResourceRegistry.Namespaces.Key;
        // As upstream's store: Orphan and Foreground hand the object to the garbage collector, marked
        // with its finalizer; the answer is the object so marked, whatever the collector does next.
        var collectorFinalizer = isNamespace ? null : policy switch { "Orphan" => OrphanDependents, "Foreground" => ForegroundDeletion, _ => null };
        var finalizersBefore = metadata["finalizers"]?.DeepClone();
        if (collectorFinalizer is not null)
        {
            metadata["finalizers"] = new JsonArray([.. (metadata["finalizers"] as JsonArray ?? [])
                .Select(f => f?.GetValue<string>()).Where(f => f is not (OrphanDependents or ForegroundDeletion)).Select(f => (JsonNode?)f), collectorFinalizer]);
        }
        if (dryRun)
        {
            // As it would be answered: marked for deletion when something holds it, else as it was. Nothing changes.
            if ((metadata["finalizers"] is JsonArray { Count: > 0 } || isNamespace) && metadata["deletionTimestamp"] is null)
            {
                metadata["deletionTimestamp"] = Now();
                metadata["deletionGracePeriodSeconds"] = 0;
            }
            return existing;
        }
        if (collectorFinalizer is not null)
        {
            if (metadata["deletionTimestamp"] is not null && JsonNode.DeepEquals(finalizersBefore, metadata["finalizers"]))
            {
                return Get(resource, ns, name); // marked so already: nothing to write
            }
            var marked = MarkDeleted(resource, existing);
            await CollectMarkedAsync(resource, marked, cancellationToken);
            return marked;
        }
        if (metadata["finalizers"] is JsonArray { Count: > 0 } || isNamespace)
        {
            if (metadata["deletionTimestamp"] is not null)
            {
                return existing;
            }
            if (isNamespace)
            {
                existing["status"] = new JsonObject { ["phase"] = "Terminating" };
            }
            var marked = MarkDeleted(resource, existing);
            if (isNamespace)
            {
                await EmptyNamespaceAsync(name, cancellationToken);
                return TryFinishNamespace(name) ?? marked;
            }
            return marked;
        }
        return await RemoveAsync(resource, existing, cancellationToken);
    }

    /// <summary>
    /// Stores the object marked for deletion (its finalizers as the caller set them): the deletion
    /// timestamp, and a new generation the first time, since a deletion changes the desired state.
    /// </summary>
    private JsonObject MarkDeleted(ApiResource resource, JsonObject existing)
    {
        var metadata = existing["metadata"]!.AsObject();
        if (metadata["deletionTimestamp"] is null)
        {
            metadata["deletionTimestamp"] = Now();
            metadata["deletionGracePeriodSeconds"] = 0;
            if (resource.TracksGeneration)
            {
                metadata["generation"] = Number(metadata["generation"]) + 1;
            }
        }
        return storage.Update(resource, existing, ObjectStorage.ResourceVersionOf(existing));
    }

    /// <summary>
    /// Deletes every object the filter selects, each as its own delete would (options, dry run and
    /// all), and answers the list of what it deleted, as upstream's DeleteCollection does.
    /// </summary>
    public async Task<JsonObject> DeleteCollectionAsync(ApiResource resource, string? ns, ObjectFilter filter, JsonObject? deleteOptions, bool dryRun, CancellationToken cancellationToken,
        UserInfo? user = null)
    {
        var list = List(resource, ns, filter, 0, null);
        var deleted = new JsonArray();
        foreach (var obj in list["items"]!.AsArray().OfType<JsonObject>().ToList())
        {
            try
            {
                deleted.Add(await DeleteAsync(resource, ObjectStorage.NamespaceOf(obj), ObjectStorage.NameOf(obj), deleteOptions, cancellationToken, dryRun, user));
            }
            catch (ApiException error) when (error.Code == HttpStatusCode.NotFound)
            {
                // Deleted meanwhile (or collected with an owner deleted before it).
            }
        }
        list["items"] = deleted;
        return list;
    }

    private async Task<JsonObject> WriteAsync(ApiResource resource, string ns, string name, string? subresource, WriteOptions options,
        Func<JsonObject, (JsonObject Requested, bool Conditional, bool Applied)> change, CancellationToken cancellationToken)
    {
        if (subresource is not null && (subresource != "status" || !resource.HasStatus))
        {
            throw ApiException.NotFound(resource, $"{name}/{subresource}");
        }
        for (var attempt = 0; ; attempt++)
        {
            var existing = Get(resource, ns, name);
            var (requested, conditional, applied) = ClientInput.Read(() => change(existing));
            var owners = applied ? requested["metadata"]?["managedFields"]?.DeepClone() : null;
            var updated = ClientInput.Read(() => PrepareUpdate(resource, existing, requested, ns, name, subresource, options));
            if (applied)
            {
                // Server-side apply worked out who owns what on the whole object (through /status too).
                updated["metadata"]!.AsObject().Remove("managedFields");
                if (owners is not null)
                {
                    updated["metadata"]!["managedFields"] = owners;
                }
            }
            else
            {
                fields.RecordUpdate(resource, existing, updated, options.FieldManager, subresource);
            }
            // A Service changing type gains or loses node ports and cluster IPs: taken now, given back if the
            // write fails (or is a dry run); what it loses is given back only once the write is stored.
            var (taken, dropped) = resource.Key == ResourceRegistry.Services.Key && subresource is null
                ? services.ApplyTypeChange(resource, updated, existing)
                : (ServiceAllocations.None, ServiceAllocations.None);
            if (JsonNode.DeepEquals(updated, existing))
            {
                // Nothing changed: no write, no new resourceVersion, as the real server.
                return existing;
            }
            JsonObject stored;
            try
            {
                options.Warnings.AddRange(await admission.ValidateAsync(
                    new AdmissionAttributes(resource, "UPDATE", ns, name, subresource, updated, existing,
                        options.DryRun, AdmissionOptions.Update(options)) { User = options.User }, cancellationToken));
                if (options.DryRun)
                {
                    services.Free(taken);
                    return updated;
                }
                stored = storage.Update(resource, updated, ObjectStorage.ResourceVersionOf(updated));
            }
            catch (Exception error)
            {
                services.Free(taken);
                if (error is ApiException { Code: HttpStatusCode.Conflict } && !conditional && attempt < UnconditionalRetries)
                {
                    continue; // an unconditional write lost a race: redo it on the fresh object, as GuaranteedUpdate does
                }
                throw;
            }
            services.Free(dropped);
            if (resource.Key == ResourceRegistry.CustomResourceDefinitions.Key)
            {
                registry.Add(ResourceRegistry.FromDefinition(stored));
            }
            var finished = await FinishIfReleasedAsync(resource, stored, cancellationToken);
            if (!OwnerUids(stored).SetEquals(OwnerUids(existing)))
            {
                await CollectIfOwnerlessAsync(resource, finished, cancellationToken);
                await FinishWaitingOwnersAsync(OwnerUids(existing), cancellationToken);
            }
            return finished;
        }
    }

    /// <summary>
    /// A field the built-in type does not have: dropped, as decoding into upstream's types drops
    /// it, with a warning (fieldValidation Warn, the default), silently (Ignore), or refused with a
    /// 400 (Strict, what kubectl sends).
    /// </summary>
    private static void CheckKnownFields(ApiResource resource, JsonObject obj, WriteOptions options)
    {
        if (resource.Model is { } model)
        {
            ModelDecoding.Check(resource, obj);
            options.ReportUnknownFields(ModelSchema.PruneUnknownFields(obj, model));
        }
    }

    /// <summary>A copy of the body to create, checked and named (a generateName completed).</summary>
    private static (JsonObject Object, JsonObject Metadata, string Name) NameForCreate(ApiResource resource, JsonObject body, WriteOptions options)
    {
        var obj = (JsonObject)body.DeepClone();
        CheckTypeOf(resource, obj);
        CheckKnownFields(resource, obj, options);
        var metadata = obj["metadata"] as JsonObject ?? (JsonObject)(obj["metadata"] = new JsonObject());
        if (metadata["name"]?.GetValue<string>() is not { Length: > 0 } && metadata["generateName"]?.GetValue<string>() is { Length: > 0 } prefix)
        {
            metadata["name"] = prefix + Guid.NewGuid().ToString("N")[..5];
        }
        return (obj, metadata, metadata["name"]?.GetValue<string>() ?? string.Empty);
    }

    private static JsonObject PrepareUpdate(ApiResource resource, JsonObject existing, JsonObject requested, string ns, string name, string? subresource, WriteOptions options)
    {
        CheckTypeOf(resource, requested);
        CheckKnownFields(resource, requested, options);
        var metadata = requested["metadata"] as JsonObject ?? throw ApiException.BadRequest("the object has no metadata");
        if ((metadata["name"]?.GetValue<string>() ?? name) != name)
        {
            throw ApiException.BadRequest($"the name of the object ({metadata["name"]}) does not match the name on the URL ({name})");
        }
        var old = existing["metadata"]!.AsObject();
        if (metadata["uid"]?.GetValue<string>() is { Length: > 0 } uid && uid != old["uid"]?.GetValue<string>())
        {
            // A UID in the body is a precondition: the write must not land on an object deleted and made again.
            throw ApiException.Conflict(resource, name, $"Precondition failed: UID in precondition: {uid}, UID in object meta: {old["uid"]}");
        }
        JsonObject updated;
        if (subresource == "status")
        {
            // The status subresource changes the status and nothing else.
            updated = (JsonObject)existing.DeepClone();
            updated["status"] = requested["status"]?.DeepClone();
            updated["metadata"]!["resourceVersion"] = metadata["resourceVersion"]?.DeepClone();
            if (resource.Schema is not null)
            {
                resource.Schema.Apply(resource, updated, options, existing);
            }
            Validate(resource, updated, existing);
            return updated;
        }

        updated = requested;
        metadata["name"] = name;
        foreach (var field in new[] { "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace" })
        {
            if (old[field] is { } kept)
            {
                metadata[field] = kept.DeepClone();
            }
            else
            {
                metadata.Remove(field);
            }
        }
        if (resource.HasStatus)
        {
            // The main resource ignores status: it is written through /status.
            if (existing["status"] is { } status)
            {
                updated["status"] = status.DeepClone();
            }
            else
            {
                updated.Remove("status");
            }
        }
        if (old["deletionTimestamp"] is not null)
        {
            var before = (old["finalizers"] as JsonArray)?.Select(f => f!.GetValue<string>()).ToHashSet() ?? [];
            var added = (metadata["finalizers"] as JsonArray)?.Select(f => f!.GetValue<string>()).Where(f => !before.Contains(f)).ToList() ?? [];
            if (added.Count > 0)
            {
                throw ApiException.Invalid(resource, name,
                    [("metadata.finalizers", $"Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers [{string.Join(" ", added)}]")]);
            }
        }
        if (resource.Key == ResourceRegistry.Services.Key)
        {
            ServiceDefaults.ApplyOnUpdate(updated, existing);
        }
        else if (resource is { Group: "", Kind: "Secret" })
        {
            SecretStringData.Fold(updated);
        }
        if (resource.Schema is not null)
        {
            resource.Schema.Apply(resource, updated, options, existing);
        }
        else if (resource.Key == ResourceRegistry.CustomResourceDefinitions.Key)
        {
            CheckDefinition(resource, updated);
        }
        if (resource.TracksGeneration && (!JsonNode.DeepEquals(SpecPart(updated), SpecPart(existing))
            || (resource.GenerationCountsLabels && !JsonNode.DeepEquals(metadata["labels"], old["labels"]))))
        {
            metadata["generation"] = Number(old["generation"]) + 1;
        }
        Validate(resource, updated, existing);
        return updated;
    }

    /// <summary>The built-in types' own validation (a 422 naming every field at fault).</summary>
    private static void Validate(ApiResource resource, JsonObject obj, JsonObject? old)
    {
        if (BuiltInValidation.Validate(resource, obj, old) is { Count: > 0 } causes)
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(obj), causes);
        }
    }

    /// <summary>Everything but metadata and status: what a generation counts.</summary>
    private static JsonObject SpecPart(JsonObject obj)
    {
        var copy = new JsonObject();
        foreach (var (key, value) in obj)
        {
            if (key is not ("metadata" or "status" or "apiVersion" or "kind"))
            {
                copy[key] = value?.DeepClone();
            }
        }
        return copy;
    }

    private void PrepareForCreate(ApiResource resource, JsonObject obj, WriteOptions options)
    {
        // Nodes are created with their status by the kubelet; elsewhere status is the server's to set.
        if (resource.HasStatus && resource.Kind != "Node")
        {
            obj.Remove("status");
        }
        if (resource.Key == ResourceRegistry.Namespaces.Key)
        {
            obj["status"] = new JsonObject { ["phase"] = "Active" };
        }
        else if (resource.Key == ResourceRegistry.Services.Key)
        {
            services.ApplyOnCreate(resource, obj);
        }
        else if (resource is { Group: "", Kind: "Secret" })
        {
            SecretStringData.Fold(obj);
            obj["type"] ??= "Opaque"; // upstream's default (kubectl create secret generic sends none)
        }
        else if (resource.Key == ResourceRegistry.CustomResourceDefinitions.Key)
        {
            CheckDefinition(resource, obj);
            obj["status"] = new JsonObject
            {
                ["acceptedNames"] = obj["spec"]!["names"]!.DeepClone(),
                ["storedVersions"] = new JsonArray([.. obj["spec"]!["versions"]!.AsArray().OfType<JsonObject>().Where(v => v["storage"]?.GetValue<bool>() == true).Select(v => v["name"]!.DeepClone())]),
                ["conditions"] = new JsonArray(
                    Condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                    Condition("Established", "InitialNamesAccepted", "the initial names have been accepted")),
            };
        }
        resource.Schema?.Apply(resource, obj, options);
    }

    private JsonObject Condition(string type, string reason, string message) => new()
    {
        ["type"] = type,
        ["status"] = "True",
        ["reason"] = reason,
        ["message"] = message,
        ["lastTransitionTime"] = Now(),
    };

    private static void CheckDefinition(ApiResource resource, JsonObject crd)
    {
        var name = ObjectStorage.NameOf(crd);
        var spec = crd["spec"] as JsonObject;
        var group = spec?["group"]?.GetValue<string>();
        var plural = spec?["names"]?["plural"]?.GetValue<string>();
        var versions = spec?["versions"] as JsonArray;
        var causes = new List<(string, string)>();
        if (string.IsNullOrEmpty(group))
        {
            causes.Add(("spec.group", "Required value"));
        }
        if (string.IsNullOrEmpty(plural) || string.IsNullOrEmpty(spec?["names"]?["kind"]?.GetValue<string>()))
        {
            causes.Add(("spec.names", "Required value: plural and kind"));
        }
        if (versions is not { Count: > 0 } || versions.Count(v => v?["storage"]?.GetValue<bool>() == true) != 1)
        {
            causes.Add(("spec.versions", "Invalid value: exactly one version must be the storage version"));
        }
        if (causes.Count == 0 && name != $"{plural}.{group}")
        {
            causes.Add(("metadata.name", $"Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"));
        }
        if (causes.Count > 0)
        {
            throw ApiException.Invalid(resource, name, causes);
        }
        try
        {
            ResourceRegistry.FromDefinition(crd);
        }
        catch (CelRuleException error)
        {
            throw ApiException.Invalid(resource, name, [(error.Field, error.Message)]);
        }
        catch (Exception error) when (error is not ApiException)
        {
            throw ApiException.Invalid(resource, name, [("spec.versions[0].schema.openAPIV3Schema", $"Invalid value: {error.Message}")]);
        }
    }

    private async Task<JsonObject> FinishIfReleasedAsync(ApiResource resource, JsonObject stored, CancellationToken cancellationToken)
    {
        var metadata = stored["metadata"]!.AsObject();
        if (metadata["deletionTimestamp"] is null || metadata["finalizers"] is JsonArray { Count: > 0 })
        {
            return stored;
        }
        if (resource.Key == ResourceRegistry.Namespaces.Key)
        {
            return TryFinishNamespace(ObjectStorage.NameOf(stored)) ?? stored;
        }
        return await RemoveAsync(resource, stored, cancellationToken);
    }

    /// <summary>The garbage collector's finalizers: the owner waits for its blocking dependents to go (Foreground), or for them to be orphaned.</summary>
    private const string ForegroundDeletion = "foregroundDeletion";
    private const string OrphanDependents = "orphan";

    /// <summary>
    /// What the garbage collector does with an object a Foreground or Orphan delete marked with its
    /// finalizer: orphans its dependents, or deletes them (foreground when they have dependents of
    /// their own), then lets the object go once nothing holds it. Done right after the mark here;
    /// upstream a moment after.
    /// </summary>
    private async Task CollectMarkedAsync(ApiResource resource, JsonObject marked, CancellationToken cancellationToken)
    {
        var (ns, name, uid) = (ObjectStorage.NamespaceOf(marked), ObjectStorage.NameOf(marked), marked["metadata"]!["uid"]!.GetValue<string>());
        if (HasFinalizer(marked, OrphanDependents))
        {
            Orphan(uid);
            await ReleaseFinalizerAsync(resource, ns, name, uid, OrphanDependents, cancellationToken);
            return;
        }
        foreach (var (key, dependent) in storage.Snapshot(o => OwnerUids(o).Contains(uid)))
        {
            if (registry.FindByKey(key) is { } type)
            {
                await AttemptToDeleteAsync(type, dependent, cancellationToken);
            }
        }
        await FinishForegroundAsync(resource, ns, name, uid, cancellationToken);
    }

    /// <summary>A foreground deletion ends when no dependent that blocks it remains: the finalizer goes, and the owner with it.</summary>
    private async Task FinishForegroundAsync(ApiResource resource, string ns, string name, string uid, CancellationToken cancellationToken)
    {
        bool Blocks(JsonObject dependent) => (dependent["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>()
            .Any(r => r["uid"]?.GetValue<string>() == uid && r["blockOwnerDeletion"]?.GetValue<bool>() == true) == true;
        if (storage.Get(resource, ns, name) is not { } owner || UidOf(owner) != uid || !HasFinalizer(owner, ForegroundDeletion) || storage.Snapshot(Blocks).Count > 0)
        {
            return;
        }
        await ReleaseFinalizerAsync(resource, ns, name, uid, ForegroundDeletion, cancellationToken);
    }

    /// <summary>Removes one of the collector's finalizers from the object (still the one with <paramref name="uid"/>), and the object if it was the last.</summary>
    private async Task ReleaseFinalizerAsync(ApiResource resource, string ns, string name, string uid, string finalizer, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < UnconditionalRetries; attempt++)
        {
            if (storage.Get(resource, ns, name) is not { } current || UidOf(current) != uid || !HasFinalizer(current, finalizer))
            {
                return;
            }
            var metadata = current["metadata"]!.AsObject();
            metadata["finalizers"] = new JsonArray([.. metadata["finalizers"]!.AsArray().Where(f => f?.GetValue<string>() != finalizer).Select(f => f?.DeepClone())]);
            JsonObject released;
            try
            {
                released = storage.Update(resource, current, ObjectStorage.ResourceVersionOf(current));
            }
            catch (ApiException error) when (error.Code == HttpStatusCode.Conflict)
            {
                continue; // changed meanwhile: again on the fresh object
            }
            await FinishIfReleasedAsync(resource, released, cancellationToken);
            return;
        }
    }

    /// <summary>Owners in a foreground deletion that may have waited for <paramref name="ownerUids"/>' dependent: finished if it was the last.</summary>
    private async Task FinishWaitingOwnersAsync(IReadOnlyCollection<string> ownerUids, CancellationToken cancellationToken)
    {
        if (ownerUids.Count == 0)
        {
            return;
        }
        foreach (var (key, owner) in storage.Snapshot(o => ownerUids.Contains(UidOf(o)) && HasFinalizer(o, ForegroundDeletion)))
        {
            if (registry.FindByKey(key) is { } type)
            {
                await FinishForegroundAsync(type, ObjectStorage.NamespaceOf(owner), ObjectStorage.NameOf(owner), UidOf(owner), cancellationToken);
            }
        }
    }

    /// <summary>
    /// The garbage collector's look at a dependent (its attemptToDeleteItem): while one of its
    /// owners is solid (there, and not deleting its dependents) it stays and only loses its
    /// references to owners that are gone or waiting for it; with none it is deleted, in the
    /// foreground when an owner waits for it and it has dependents of its own.
    /// </summary>
    private async Task AttemptToDeleteAsync(ApiResource resource, JsonObject dependent, CancellationToken cancellationToken)
    {
        var references = (dependent["metadata"]?["ownerReferences"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        if (references.Count == 0 || dependent["metadata"]?["deletionTimestamp"] is not null)
        {
            return; // nothing to judge, or already on its way out
        }
        var referenced = references.Select(r => r["uid"]?.GetValue<string>()).OfType<string>().ToHashSet();
        var owners = storage.Snapshot(o => referenced.Contains(UidOf(o))).ToDictionary(o => UidOf(o.Object), o => o.Object);
        static bool Waiting(JsonObject owner) => owner["metadata"]?["deletionTimestamp"] is not null && HasFinalizer(owner, ForegroundDeletion);
        var solid = owners.Where(o => !Waiting(o.Value)).Select(o => o.Key).ToHashSet();
        var waiting = owners.Where(o => Waiting(o.Value)).Select(o => o.Key).ToList();
        if (solid.Count > 0)
        {
            if (references.All(r => solid.Contains(r["uid"]?.GetValue<string>() ?? string.Empty)))
            {
                return;
            }
            dependent["metadata"]!["ownerReferences"] = new JsonArray([.. references.Where(r => solid.Contains(r["uid"]?.GetValue<string>() ?? string.Empty)).Select(r => r.DeepClone())]);
            try
            {
                storage.Update(resource, dependent, ObjectStorage.ResourceVersionOf(dependent));
            }
            catch (ApiException error) when (error.Code is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
            {
                return; // changed or gone meanwhile: that write's own look judges it
            }
            await FinishWaitingOwnersAsync(waiting, cancellationToken);
            return;
        }
        var uid = UidOf(dependent);
        var policy = waiting.Count > 0 && storage.Snapshot(o => OwnerUids(o).Contains(uid)).Count > 0 ? "Foreground"
            : HasFinalizer(dependent, OrphanDependents) ? "Orphan"
            : HasFinalizer(dependent, ForegroundDeletion) ? "Foreground"
            : "Background";
        try
        {
            await DeleteAsync(resource, ObjectStorage.NamespaceOf(dependent), ObjectStorage.NameOf(dependent),
                new JsonObject { ["propagationPolicy"] = policy, ["preconditions"] = new JsonObject { ["uid"] = uid } }, cancellationToken);
        }
        catch (ApiException error) when (error.Code is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Gone or replaced meanwhile.
        }
    }

    /// <summary>
    /// As the garbage collector does with an object whose owner references changed: deleted when
    /// its owners are all gone (deleted, or never there: a uid nothing has), else stripped of the
    /// references to the missing ones. Done right after the write here; upstream a moment after.
    /// </summary>
    private Task CollectIfOwnerlessAsync(ApiResource resource, JsonObject stored, CancellationToken cancellationToken) =>
        AttemptToDeleteAsync(resource, stored, cancellationToken);

    /// <summary>Removes the object for good, then what only it kept alive.</summary>
    private async Task<JsonObject> RemoveAsync(ApiResource resource, JsonObject existing, CancellationToken cancellationToken)
    {
        var ns = ObjectStorage.NamespaceOf(existing);
        var final = storage.Remove(resource, ns, ObjectStorage.NameOf(existing), ObjectStorage.ResourceVersionOf(existing));
        ReleaseAllocations(resource, final);
        if (resource.Key == ResourceRegistry.CustomResourceDefinitions.Key)
        {
            var served = ResourceRegistry.FromDefinition(final);
            registry.Remove(served);
            storage.RemoveAll(served);
        }
        await CollectGarbageAsync(UidOf(final), cancellationToken);
        await FinishWaitingOwnersAsync(OwnerUids(final), cancellationToken);
        if (ns.Length > 0)
        {
            TryFinishNamespace(ns);
        }
        return final;
    }

    private void ReleaseAllocations(ApiResource resource, JsonObject obj)
    {
        if (resource.Key == ResourceRegistry.Services.Key)
        {
            services.Release(obj);
        }
    }

    /// <summary>The dependents of an owner that went (background propagation), each judged as the collector does.</summary>
    private async Task CollectGarbageAsync(string ownerUid, CancellationToken cancellationToken)
    {
        foreach (var (key, dependent) in storage.Snapshot(o => OwnerUids(o).Contains(ownerUid)))
        {
            if (registry.FindByKey(key) is { } type)
            {
                await AttemptToDeleteAsync(type, dependent, cancellationToken);
            }
        }
    }

    /// <summary>Drops every reference to the owner from its dependents (orphan propagation).</summary>
    private void Orphan(string ownerUid)
    {
        foreach (var (key, dependent) in storage.Snapshot(o => OwnerUids(o).Contains(ownerUid)))
        {
            if (registry.FindByKey(key) is not { } type)
            {
                continue;
            }
            var references = dependent["metadata"]!["ownerReferences"]!.AsArray();
            dependent["metadata"]!["ownerReferences"] = new JsonArray([.. references.Where(r => r?["uid"]?.GetValue<string>() != ownerUid).Select(r => r!.DeepClone())]);
            try
            {
                storage.Update(type, dependent, ObjectStorage.ResourceVersionOf(dependent));
            }
            catch (ApiException error) when (error.Code is HttpStatusCode.Conflict or HttpStatusCode.NotFound)
            {
                // Changed or gone meanwhile; upstream's collector would retry on the fresh object, and does here on its next look.
            }
        }
    }

    private static string UidOf(JsonObject obj) => obj["metadata"]?["uid"]?.GetValue<string>() ?? string.Empty;

    private static bool HasFinalizer(JsonObject obj, string finalizer) =>
        (obj["metadata"]?["finalizers"] as JsonArray)?.Any(f => f?.GetValue<string>() == finalizer) == true;

    private static HashSet<string> OwnerUids(JsonObject obj) =>
        (obj["metadata"]?["ownerReferences"] as JsonArray)?.Select(r => r?["uid"]?.GetValue<string>()).OfType<string>().ToHashSet() ?? [];

    private async Task EmptyNamespaceAsync(string ns, CancellationToken cancellationToken)
    {
        foreach (var (key, obj) in storage.Snapshot(o => ObjectStorage.NamespaceOf(o) == ns))
        {
            if (registry.FindByKey(key) is { } type)
            {
                try
                {
                    await DeleteAsync(type, ns, ObjectStorage.NameOf(obj), null, cancellationToken);
                }
                catch (ApiException error) when (error.Code == HttpStatusCode.NotFound)
                {
                    // Already gone.
                }
            }
        }
    }

    /// <summary>Removes a terminating namespace once nothing is left in it.</summary>
    private JsonObject? TryFinishNamespace(string ns)
    {
        var namespaceObject = storage.Get(ResourceRegistry.Namespaces, string.Empty, ns);
        if (namespaceObject?["metadata"]?["deletionTimestamp"] is null || storage.Snapshot(o => ObjectStorage.NamespaceOf(o) == ns).Count > 0)
        {
            return null;
        }
        try
        {
            return storage.Remove(ResourceRegistry.Namespaces, string.Empty, ns, ObjectStorage.ResourceVersionOf(namespaceObject));
        }
        catch (ApiException)
        {
            return null;
        }
    }

    private static void CheckTypeOf(ApiResource resource, JsonObject obj)
    {
        var apiVersion = obj["apiVersion"]?.GetValue<string>();
        var kind = obj["kind"]?.GetValue<string>();
        if (apiVersion is not null && apiVersion != resource.ApiVersion)
        {
            throw ApiException.BadRequest($"the API version in the data ({apiVersion}) does not match the expected API version ({resource.ApiVersion})");
        }
        if (kind is not null && kind != resource.Kind)
        {
            throw ApiException.BadRequest($"the kind in the data ({kind}) does not match the expected kind ({resource.Kind})");
        }
        obj["apiVersion"] = resource.ApiVersion;
        obj["kind"] = resource.Kind;
    }

    private static void CheckName(ApiResource resource, string name)
    {
        if (name.Length == 0)
        {
            throw ApiException.Invalid(resource, name, [("metadata.name", "Required value: name or generateName is required")]);
        }
        if (name.Length > 253 || !Dns1123Subdomain().IsMatch(name))
        {
            throw ApiException.Invalid(resource, name, [("metadata.name",
                $"Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")]);
        }
    }

    /// <summary>A JSON number as a long, whether it was parsed from text or set from code as an int.</summary>
    private static long Number(JsonNode? node) => node switch
    {
        JsonValue value when value.TryGetValue<long>(out var l) => l,
        JsonValue value when value.TryGetValue<int>(out var i) => i,
        _ => 0,
    };

    private string Now() => time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
