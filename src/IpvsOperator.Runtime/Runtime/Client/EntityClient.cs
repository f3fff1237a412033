using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Polly;

namespace IpvsOperator.Runtime.Client;

/// <summary>
/// Typed access to one resource type over an <see cref="ApiConnection"/>:
/// get, list, watch, create, replace, status, patch and delete. Transient failures (5xx, 429,
/// network errors, timeouts) are retried with exponential backoff and jitter; conflicts are not,
/// because only the caller can redo its change on fresh state.
/// </summary>
public sealed class EntityClient<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ApiConnection connection;
    private readonly ResiliencePipeline retry;

    public EntityClient(IKubernetes kubernetes, ResiliencePipeline? retry = null)
        : this(ApiConnection.Of(kubernetes), retry)
    {
    }

    public EntityClient(ApiConnection connection, ResiliencePipeline? retry = null)
    {
        this.connection = connection;
        this.retry = retry ?? ApiRetry.Transient();
        Metadata = EntityMetadata.For<T>();
    }

    public EntityMetadata Metadata { get; }

    public async Task<T?> GetAsync(string? ns, string name, CancellationToken cancellationToken = default)
    {
        try
        {
            return await SendAsync<T>(HttpMethod.Get, Metadata.Path(ns, name), null, null, cancellationToken);
        }
        catch (ApiStatusException error) when (error.IsNotFound)
        {
            return null;
        }
    }

    /// <param name="undecodable">Told of each item that does not read as <typeparamref name="T"/>, which is then left out; null: such an item fails the list.</param>
    public async Task<EntityList<T>> ListAsync(string? ns = null, string? labelSelector = null, int limit = 0, string? continueToken = null,
        Action<UndecodableObject>? undecodable = null, CancellationToken cancellationToken = default)
    {
        var query = Query(("labelSelector", labelSelector), ("limit", limit > 0 ? limit.ToString(CultureInfo.InvariantCulture) : null), ("continue", continueToken));
        return await SendAsync(HttpMethod.Get, Metadata.Path(ns) + query, null, null, async (stream, token) =>
        {
            // Parsed from the stream into pooled buffers, returned when the page is read: a page of
            // 500 EndpointSlices is about a MiB of JSON, which as a string or a copied element
            // would land on the large object heap at every list.
            using var list = await JsonDocument.ParseAsync(stream, cancellationToken: token);
            var items = new List<T>();
            foreach (var item in list.RootElement.GetProperty("items").EnumerateArray())
            {
                if (Decode(item, undecodable is null ? null : (_, bad) => undecodable(bad), WatchChange.Added) is { } decoded)
                {
                    items.Add(decoded);
                }
            }
            var metadata = list.RootElement.GetProperty("metadata");
            return new EntityList<T>(items,
                metadata.TryGetProperty("resourceVersion", out var version) ? version.GetString() ?? string.Empty : string.Empty,
                metadata.TryGetProperty("continue", out var next) ? next.GetString() : null);
        }, cancellationToken);
    }

    /// <summary>Lists every page.</summary>
    /// <param name="undecodable">As for <see cref="ListAsync"/>.</param>
    public async Task<EntityList<T>> ListAllAsync(string? ns = null, string? labelSelector = null, int pageSize = 500,
        Action<UndecodableObject>? undecodable = null, CancellationToken cancellationToken = default)
    {
        var items = new List<T>();
        string? token = null;
        string version;
        do
        {
            var page = await ListAsync(ns, labelSelector, pageSize, token, undecodable, cancellationToken);
            items.AddRange(page.Items);
            version = page.ResourceVersion;
            token = page.Continue;
        }
        while (!string.IsNullOrEmpty(token));
        return new EntityList<T>(items, version, null);
    }

    /// <summary>
    /// Watches from <paramref name="resourceVersion"/>. Ends when the server closes the stream (it
    /// does after <paramref name="timeout"/>), or when nothing at all arrived for that long plus
    /// <see cref="WatchTimeouts.Grace"/>: a connection whose other end is gone without a word would otherwise
    /// leave the caller's cache stale until a restart. Throws <see cref="ApiStatusException"/>
    /// (IsGone) when that version is too old. An event whose object does not read as
    /// <typeparamref name="T"/> goes to <paramref name="undecodable"/> instead (null: it fails the watch).
    /// </summary>
    public async IAsyncEnumerable<(WatchChange Type, T Object)> WatchAsync(string? ns, string resourceVersion, string? labelSelector = null,
        bool bookmarks = true, TimeSpan? timeout = null, TimeSpan? grace = null, Action<WatchChange, UndecodableObject>? undecodable = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var serverTimeout = timeout ?? WatchTimeouts.Spread();
        var silence = serverTimeout + (grace ?? WatchTimeouts.Grace);
        var query = Query(("watch", "true"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", bookmarks ? "true" : null),
            ("labelSelector", labelSelector), ("timeoutSeconds", Math.Max(1, (int)serverTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture)));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(connection.BaseUri, Metadata.Path(ns) + query));
        // Silence bounds the wait for the headers too: a server gone before answering is as dead as one gone after.
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(silence);
        HttpResponseMessage response;
        try
        {
            response = await retry.ExecuteAsync(async token =>
            {
                var attempt = new HttpRequestMessage(request.Method, request.RequestUri); // a request is sent once; a retry sends a copy
                await AuthenticateAsync(attempt, token);
                var reply = await connection.Http.SendAsync(attempt, HttpCompletionOption.ResponseHeadersRead, token);
                if (!reply.IsSuccessStatusCode)
                {
                    using (reply)
                    {
                        throw await ErrorAsync(reply, token);
                    }
                }
                return reply;
            }, idle.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WatchStalledException($"the watch of {Metadata.Plural} got no answer for {silence}: taken for a dead connection");
        }
        using var _ = response;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        while (true)
        {
            idle.CancelAfter(silence);
            string? line;
            try
            {
                line = await reader.ReadLineAsync(idle.Token);
            }
            catch (Exception error) when (!cancellationToken.IsCancellationRequested && idle.IsCancellationRequested
                && error is OperationCanceledException or IOException)
            {
                throw new WatchStalledException($"the watch of {Metadata.Plural} sent nothing for {silence}, beyond its own timeout: taken for a dead connection");
            }
            if (line is null)
            {
                break;
            }
            if (line.Length == 0)
            {
                continue;
            }
            using var document = JsonDocument.Parse(line);
            var type = document.RootElement.GetProperty("type").GetString();
            var obj = document.RootElement.GetProperty("object");
            if (type == "ERROR")
            {
                var status = ApiJson.Deserialize<V1Status>(obj);
                throw new ApiStatusException((HttpStatusCode)(status.Code ?? 500), status);
            }
            var change = Enum.Parse<WatchChange>(type!, ignoreCase: true);
            if (Decode(obj, undecodable, change) is { } decoded)
            {
                yield return (change, decoded);
            }
        }
    }

    /// <summary>The object, or null after telling <paramref name="undecodable"/> what it is (rethrown when nobody is told).</summary>
    private T? Decode(JsonElement raw, Action<WatchChange, UndecodableObject>? undecodable, WatchChange change)
    {
        try
        {
            return ApiJson.Deserialize<T>(raw);
        }
        catch (Exception error) when (undecodable is not null && error is JsonException or FormatException or InvalidOperationException)
        {
            undecodable(change, UndecodableObject.From(raw, Metadata.Kind, error));
            return null;
        }
    }

    public Task<T> CreateAsync(T obj, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Post, Metadata.Path(obj.Metadata.NamespaceProperty), Json(obj), null, cancellationToken);

    /// <summary>Replaces the object; conditional on its resourceVersion when it carries one.</summary>
    public Task<T> ReplaceAsync(T obj, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Put, Metadata.Path(obj.Metadata.NamespaceProperty, obj.Metadata.Name), Json(obj), null, cancellationToken);

    /// <summary>Writes the status through the /status subresource; conditional on the resourceVersion.</summary>
    public Task<T> ReplaceStatusAsync(T obj, CancellationToken cancellationToken = default) =>
        SendAsync<T>(HttpMethod.Put, Metadata.Path(obj.Metadata.NamespaceProperty, obj.Metadata.Name, "status"), Json(obj), null, cancellationToken);

    public Task<T> PatchAsync(string? ns, string name, string patch, PatchKind kind = PatchKind.Merge, bool status = false, CancellationToken cancellationToken = default)
    {
        var mediaType = kind switch
        {
            PatchKind.Json => "application/json-patch+json",
            PatchKind.Strategic => "application/strategic-merge-patch+json",
            _ => "application/merge-patch+json",
        };
        return SendAsync<T>(HttpMethod.Patch, Metadata.Path(ns, name, status ? "status" : null), patch, mediaType, cancellationToken);
    }

    /// <summary>
    /// Deletes; false when it was already gone. With a uid, only that incarnation of the name is
    /// deleted; with a resourceVersion, only that version of it (409 Conflict when it changed).
    /// </summary>
    public async Task<bool> DeleteAsync(string? ns, string name, string? uid = null, string? resourceVersion = null, CancellationToken cancellationToken = default)
    {
        var options = uid is null && resourceVersion is null ? null
            : ApiJson.Serialize(new V1DeleteOptions { ApiVersion = "v1", Kind = "DeleteOptions", Preconditions = new V1Preconditions { Uid = uid, ResourceVersion = resourceVersion } });
        try
        {
            await SendAsync<JsonElement>(HttpMethod.Delete, Metadata.Path(ns, name), options, null, cancellationToken);
            return true;
        }
        catch (ApiStatusException error) when (error.IsNotFound)
        {
            return false;
        }
    }

    private static string Json(T obj)
    {
        if (string.IsNullOrEmpty(obj.ApiVersion) || string.IsNullOrEmpty(obj.Kind))
        {
            var metadata = EntityMetadata.For<T>();
            obj.ApiVersion = metadata.ApiVersion;
            obj.Kind = metadata.Kind;
        }
        return ApiJson.Serialize(obj);
    }

    private Task AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        connection.AuthenticateAsync(request, cancellationToken);

    private Task<TResult> SendAsync<TResult>(HttpMethod method, string path, string? body, string? mediaType, CancellationToken cancellationToken) =>
        SendAsync(method, path, body, mediaType, ApiJson.DeserializeAsync<TResult>, cancellationToken);

    /// <summary>Sends with retries; <paramref name="read"/> reads a successful reply as it arrives, not buffered first.</summary>
    private async Task<TResult> SendAsync<TResult>(HttpMethod method, string path, string? body, string? mediaType,
        Func<Stream, CancellationToken, Task<TResult>> read, CancellationToken cancellationToken) =>
        await retry.ExecuteAsync(async token =>
        {
            using var request = new HttpRequestMessage(method, new Uri(connection.BaseUri, path));
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType ?? "application/json");
            }
            await AuthenticateAsync(request, token);
            using var reply = await connection.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
            if (!reply.IsSuccessStatusCode)
            {
                throw await ErrorAsync(reply, token);
            }
            await using var stream = await reply.Content.ReadAsStreamAsync(token);
            return await read(stream, token);
        }, cancellationToken);

    private static async Task<ApiStatusException> ErrorAsync(HttpResponseMessage reply, CancellationToken cancellationToken)
    {
        var text = await reply.Content.ReadAsStringAsync(cancellationToken);
        V1Status status;
        try
        {
            status = ApiJson.Deserialize<V1Status>(text);
        }
        catch (JsonException)
        {
            status = new V1Status { Message = text };
        }
        status.Code ??= (int)reply.StatusCode;
        status.Message ??= reply.ReasonPhrase;
        return new ApiStatusException(reply.StatusCode, status);
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? string.Empty : "?" + string.Join('&', present);
    }
}
