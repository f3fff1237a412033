using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A Kubernetes-compatible API server in-process, on loopback over HTTP: what the operator's tests
/// and the local mode talk to through the real KubernetesClient, and what the real kubectl drives.
/// Every behaviour it claims follows the real server; what it does not do is listed in docs/development.md (LocalCluster).
/// </summary>
public sealed class LocalClusterServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions CompactJson = new() { WriteIndented = false };
    private readonly WebApplication app;
    private readonly LocalClusterOptions options;
    private readonly CancellationTokenSource stopping = new();

    private LocalClusterServer(WebApplication app, LocalClusterOptions options, ClusterApi api, AdmissionDispatcher admission, ServingCertificate tls)
    {
        this.app = app;
        this.options = options;
        Api = api;
        Admission = admission;
        Tls = tls;
        Authentication = new Authenticator(options.Token);
        Authorizer = new RbacAuthorizer(api.Storage);
    }

    /// <summary>The CA clients trust and the certificate served.</summary>
    public ServingCertificate Tls { get; }

    /// <summary>RBAC on the roles and bindings stored here: what a user other than the administrator may do.</summary>
    public RbacAuthorizer Authorizer { get; }

    /// <summary>Who may talk to this server: the administrator's token, and the users tests add.</summary>
    public Authenticator Authentication { get; }

    /// <summary>The administrator's bearer token: what <see cref="CreateClient"/> and the kubeconfig carry unless told otherwise.</summary>
    public string Token => Authentication.AdministratorToken;

    public Uri Address { get; private set; } = null!;

    public ClusterApi Api { get; }

    public AdmissionDispatcher Admission { get; }

    public FaultInjector Faults { get; } = new();

    /// <summary>Requests served, by verb and resource ("create ipallocations"), for benchmarks and tests.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, long> RequestCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The same, by user ("system:serviceaccount:ipvs-operator-system:ipvs-operator-controller" -> "patch
    /// services/status"): what a component really does, to hold its RBAC to.
    /// </summary>
    public System.Collections.Concurrent.ConcurrentDictionary<(string User, string Request), long> RequestsByUser { get; } = new();

    /// <summary>Requests RBAC refused, by user, with the refusal: a component that gets any lacks a permission it uses.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<(string User, string Request), string> DeniedByUser { get; } = new();

    public static async Task<LocalClusterServer> StartAsync(LocalClusterOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LocalClusterOptions();
        var storage = new ObjectStorage(options.HistoryLimit);
        var registry = new ResourceRegistry();
        var admission = new AdmissionDispatcher(storage);
        var api = new ClusterApi(storage, registry, admission, options.Time);

        var tls = ServingCertificate.Create([.. options.CertificateAddresses, .. options.Listen.Equals(System.Net.IPAddress.Any) ? Array.Empty<System.Net.IPAddress>() : [options.Listen]]);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k => k.Listen(options.Listen, options.Port, listen => listen.UseHttps(tls.Server)));
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(k => k.AllowSynchronousIO = false);
        var app = builder.Build();
        var server = new LocalClusterServer(app, options, api, admission, tls);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken);
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        // Listening on every address: this process reaches it over loopback.
        server.Address = options.Listen.Equals(System.Net.IPAddress.Any) ? new UriBuilder(bound) { Host = "127.0.0.1" }.Uri : bound;
        foreach (var ns in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            await api.CreateAsync(ResourceRegistry.Namespaces, string.Empty, new JsonObject { ["metadata"] = new JsonObject { ["name"] = ns } }, new WriteOptions(), cancellationToken);
        }
        return server;
    }

    /// <summary>A client of the real KubernetesClient library, talking HTTP to this server (as the administrator unless a token is given).</summary>
    public IKubernetes CreateClient(string? token = null) => new Kubernetes(ClientConfiguration(token));

    /// <summary>How to reach this server with the real client library: its address and a bearer token (the administrator's unless given).</summary>
    public KubernetesClientConfiguration ClientConfiguration(string? token = null) =>
        new() { Host = Address.ToString().TrimEnd('/'), AccessToken = token ?? Token, SslCaCerts = [Tls.Authority] };

    /// <summary>A plain HTTP client that trusts this server's CA, with the administrator's token unless given one, or none when <paramref name="token"/> is empty.</summary>
    public HttpClient CreateHttpClient(string? token = null)
    {
        var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, certificate, _, _) => Tls.Validates(certificate) }) { BaseAddress = Address };
        if ((token ?? Token) is { Length: > 0 } bearer)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }
        return http;
    }

    /// <summary>
    /// Writes a kubeconfig for kubectl and other clients (reaching it at <paramref name="host"/>,
    /// default: its own address; with the administrator's token unless given); returns its path.
    /// It holds a credential: readable by its owner only, and written under a new name then moved
    /// over the path, so a link planted at the path is replaced, never followed.
    /// </summary>
    public string WriteKubeconfig(string path, string? token = null, string? host = null)
    {
        var server = (host is null ? Address : new UriBuilder(Address) { Host = host }.Uri).ToString().TrimEnd('/');
        var temporary = $"{path}.{Guid.NewGuid():N}";
        using (var file = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(file))
        {
            writer.Write($"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: localcluster
              cluster:
                server: {server}
                certificate-authority-data: {Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(Tls.AuthorityPem))}
            users:
            - name: localcluster
              user:
                token: {token ?? Token}
            contexts:
            - name: localcluster
              context:
                cluster: localcluster
                user: localcluster
                namespace: default
            current-context: localcluster

            """);
        }
        File.Move(temporary, path, overwrite: true);
        return path;
    }

    /// <summary>Ends every open watch, as a restarted API server or a dropped connection would.</summary>
    public void CloseAllWatches() => Api.Storage.CloseAllWatches();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<ObjectWatch, bool> stalled = new();

    /// <summary>
    /// Makes every open watch a half-open connection: nothing more is sent on it, not even its end at
    /// its timeout, while the connection stays open, as when the network between drops without a
    /// FIN. Only the client can notice, by the silence.
    /// </summary>
    public void StallOpenWatches()
    {
        foreach (var watch in Api.Storage.OpenWatchList())
        {
            stalled[watch] = true;
        }
    }

    /// <summary>Watches open on resources of this plural (any group) in one namespace.</summary>
    public int OpenWatches(string plural, string ns) => Api.Storage.OpenWatches(plural, ns);

    /// <summary>Drops the change history: watches resuming from before now get 410 Gone.</summary>
    public void Compact() => Api.Storage.Compact();

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        Api.Storage.CloseAllWatches();
        Faults.Clear(); // held requests go on, so that stopping need not wait for them
        await app.StopAsync();
        await app.DisposeAsync();
        stopping.Dispose();
        Tls.Dispose();
    }

    private const string UserKey = "localcluster-user";

    private async Task HandleAsync(HttpContext context)
    {
        var segments = (context.Request.Path.Value ?? string.Empty).Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        try
        {
            // Health is public, as upstream; everything else needs a known bearer token.
            if (segments is not ["healthz" or "livez" or "readyz", ..])
            {
                var authenticated = Authentication.Authenticate(context.Request.Headers.Authorization.ToString())
                    ?? throw new ApiException(HttpStatusCode.Unauthorized, "Unauthorized", "Unauthorized");
                context.Items[UserKey] = Impersonation.Apply(authenticated, context.Request.Headers, Authorizer);
            }
            await RouteAsync(context, segments);
        }
        catch (ApiException error)
        {
            await WriteAsync(context, error.Code, error.ToStatus());
        }
        catch (JsonException error)
        {
            await WriteAsync(context, HttpStatusCode.BadRequest, ApiException.BadRequest($"the request body is not valid JSON: {error.Message}").ToStatus());
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || stopping.IsCancellationRequested)
        {
            // The client went away or the server is stopping.
        }
        catch (Exception error) when (!context.Response.HasStarted)
        {
            // As the real server: an internal error is still a Status, and says what went wrong.
            await WriteAsync(context, HttpStatusCode.InternalServerError,
                ApiException.Status(HttpStatusCode.InternalServerError, "InternalError", $"Internal error occurred: {error.GetType().Name}: {error.Message}"));
        }
    }

    private async Task RouteAsync(HttpContext context, string[] segments)
    {
        switch (segments)
        {
            case []:
                await WriteAsync(context, HttpStatusCode.OK, new JsonObject { ["paths"] = new JsonArray("/api", "/apis", "/healthz", "/openapi/v2", "/openapi/v3", "/version") });
                return;
            case ["healthz" or "livez" or "readyz", ..]:
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("ok", context.RequestAborted);
                return;
            case ["version"]:
                await WriteAsync(context, HttpStatusCode.OK, Discovery.Version());
                return;
            case ["openapi", "v2"]:
                await WriteAsync(context, HttpStatusCode.OK, Discovery.OpenApiV2(Api.Registry));
                return;
            case ["openapi", "v3"]:
                await WriteAsync(context, HttpStatusCode.OK, Discovery.OpenApiIndex(Api.Registry));
                return;
            case ["openapi", "v3", .. var groupVersion]:
                var gvPath = string.Join('/', groupVersion);
                var documented = Api.Registry.All.Where(r => Discovery.GroupVersionPath(r) == gvPath).ToList();
                if (documented.Count == 0)
                {
                    throw new ApiException(HttpStatusCode.NotFound, "NotFound", $"no OpenAPI document for {gvPath}");
                }
                await WriteAsync(context, HttpStatusCode.OK, Discovery.OpenApiDocument(documented));
                return;
            case ["api"] when Discovery.WantsAggregated(context.Request.Headers.Accept):
                await WriteAsync(context, HttpStatusCode.OK, Discovery.Aggregated(Api.Registry.All.Where(r => r.Group.Length == 0)), Discovery.AggregatedMediaType);
                return;
            case ["apis"] when Discovery.WantsAggregated(context.Request.Headers.Accept):
                await WriteAsync(context, HttpStatusCode.OK, Discovery.Aggregated(Api.Registry.All.Where(r => r.Group.Length > 0)), Discovery.AggregatedMediaType);
                return;
            case ["api"]:
                await WriteAsync(context, HttpStatusCode.OK, Discovery.CoreVersions(Address.Authority));
                return;
            case ["api", "v1"]:
                await WriteAsync(context, HttpStatusCode.OK, Discovery.Resources("v1", Api.Registry.All.Where(r => r.Group.Length == 0)));
                return;
            case ["apis"]:
                await WriteAsync(context, HttpStatusCode.OK, Discovery.Groups(Api.Registry));
                return;
            case ["apis", var group]:
                var inGroup = Api.Registry.All.Where(r => r.Group == group).ToList();
                await WriteAsync(context, inGroup.Count == 0 ? HttpStatusCode.NotFound : HttpStatusCode.OK,
                    inGroup.Count == 0 ? ApiException.Status(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource") : Discovery.Group(group, inGroup));
                return;
            case ["apis", var group, var version]:
                var inVersion = Api.Registry.All.Where(r => r.Group == group && r.Version == version).ToList();
                await WriteAsync(context, inVersion.Count == 0 ? HttpStatusCode.NotFound : HttpStatusCode.OK,
                    inVersion.Count == 0 ? ApiException.Status(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource") : Discovery.Resources($"{group}/{version}", inVersion));
                return;
            case ["api", "v1", .. var rest]:
                await ServeResourceAsync(context, string.Empty, "v1", rest);
                return;
            case ["apis", var group, var version, .. var rest]:
                await ServeResourceAsync(context, group, version, rest);
                return;
            default:
                throw new ApiException(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
        }
    }

    private async Task ServeResourceAsync(HttpContext context, string group, string version, string[] rest)
    {
        string? ns = null;
        if (rest is ["namespaces", var namespaceName, var next, ..] && next is not ("status" or "finalize"))
        {
            ns = namespaceName;
            rest = rest[2..];
        }
        var resource = Api.Registry.Find(group, version, rest[0])
            ?? throw new ApiException(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
        if ((ns is not null && !resource.Namespaced) || rest.Length > 3)
        {
            throw new ApiException(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
        }
        var name = rest.Length > 1 ? rest[1] : null;
        var subresource = rest.Length > 2 ? rest[2] : null;
        var query = context.Request.Query;
        var method = context.Request.Method;
        var isWatch = query["watch"] is var w && (w == "true" || w == "1");
        var verb = method switch
        {
            "GET" when name is null => isWatch ? "watch" : "list",
            "GET" => "get",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => name is null ? "deletecollection" : "delete",
            _ => throw ApiException.MethodNotAllowed($"method {method} is not allowed"),
        };
        var request = $"{verb} {resource.Plural}{(subresource is null ? string.Empty : "/" + subresource)}";
        RequestCounts.AddOrUpdate(request, 1, (_, n) => n + 1);
        var user = context.Items[UserKey] as UserInfo ?? throw new InvalidOperationException("authenticated before routing");
        try
        {
            Authorizer.Authorize(user, new AccessRequest(verb, resource, subresource, ns ?? string.Empty, name));
        }
        catch (ApiException denied)
        {
            DeniedByUser[(user.Name, request)] = denied.Message;
            throw;
        }
        RequestsByUser.AddOrUpdate((user.Name, request), 1, (_, n) => n + 1);
        await Faults.HeldAsync(verb, resource.Plural).WaitAsync(context.RequestAborted);
        var (failure, delay, gone) = Faults.Check(verb, resource.Plural);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, context.RequestAborted);
        }
        if (failure is { } status)
        {
            throw new ApiException(status, ReasonOf(status), $"injected fault: {verb} {resource.QualifiedName} failed with {(int)status}");
        }
        if (resource.Namespaced && ns is null && name is not null)
        {
            throw new ApiException(HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource");
        }
        var dryRun = query["dryRun"].FirstOrDefault() switch
        {
            null or "" => false,
            "All" => true,
            var other => throw ApiException.BadRequest($"unsupported dry run value \"{other}\": supported values: \"All\""),
        };
        var isApply = verb == "patch" && (context.Request.ContentType ?? string.Empty).Split(';')[0].Trim() == Patches.Apply;
        var write = new WriteOptions(query["fieldValidation"].FirstOrDefault() ?? "Warn", dryRun, FieldManagerOf(context, isApply), ForceOf(query["force"], isApply)) { User = user };
        // Selectors are read on the stored objects (a converted resource's are its stored type's).
        var filter = ObjectFilter.Parse(query["labelSelector"], query["fieldSelector"], resource.Conversion?.Stored ?? resource);
        var cancellationToken = context.RequestAborted;
        if (resource.IsReview)
        {
            if (verb != "create")
            {
                throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource: {resource.QualifiedName} can only be created");
            }
            var review = await ReadBodyAsync(context);
            await WriteAsync(context, HttpStatusCode.Created, resource == ResourceRegistry.SelfSubjectRulesReviews ? Authorizer.RulesReview(user, review)
                : resource == ResourceRegistry.SelfSubjectReviews ? WhoAmI(user, review)
                : Authorizer.Review(user, review, Api.Registry));
            return;
        }
        switch (verb)
        {
            case "get":
                await WriteObjectAsync(context, resource, HttpStatusCode.OK, Api.Get(resource, ns ?? string.Empty, name!), write);
                break;
            case "list":
                var limit = int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
                var list = Api.List(resource, ns, filter, limit, query["continue"], query["resourceVersion"], query["resourceVersionMatch"]);
                switch (ResponseForm.Of(context.Request.Headers.Accept))
                {
                    case ResponseKind.Table:
                        var table = Tables.Convert(resource, list["items"]!.AsArray().OfType<JsonObject>(), list["metadata"]!["resourceVersion"]!.GetValue<string>(), query["includeObject"], options.Time.GetUtcNow());
                        table["metadata"] = list["metadata"]!.DeepClone();
                        await WriteAsync(context, HttpStatusCode.OK, table);
                        break;
                    case ResponseKind.PartialObjectMetadataList:
                        await WriteAsync(context, HttpStatusCode.OK, ResponseForm.MetadataList(list));
                        break;
                    case ResponseKind.PartialObjectMetadata:
                        await WriteAsync(context, HttpStatusCode.OK, ResponseForm.Metadata(list, isList: true));
                        break;
                    default:
                        await WriteAsync(context, HttpStatusCode.OK, list);
                        break;
                }
                break;
            case "watch":
                await StreamWatchAsync(context, resource, ns, filter, gone);
                break;
            case "create":
                var created = await Api.CreateAsync(resource, ns ?? string.Empty, await ReadBodyAsync(context), write, cancellationToken);
                await WriteObjectAsync(context, resource, HttpStatusCode.Created, created, write);
                break;
            case "update":
                var updated = await Api.UpdateAsync(resource, ns ?? string.Empty, name!, await ReadBodyAsync(context), subresource, write, cancellationToken);
                await WriteObjectAsync(context, resource, HttpStatusCode.OK, updated, write);
                break;
            case "patch" when isApply:
                var configuration = AppliedConfiguration.Parse(Encoding.UTF8.GetString(await RequestLimits.ReadBodyAsync(context)));
                var (applied, madeNew) = await Api.ApplyAsync(resource, ns ?? string.Empty, name!, configuration, subresource, write, cancellationToken);
                await WriteObjectAsync(context, resource, madeNew ? HttpStatusCode.Created : HttpStatusCode.OK, applied, write);
                break;
            case "patch":
                var patch = JsonNode.Parse(await RequestLimits.ReadBodyAsync(context));
                var patched = await Api.PatchAsync(resource, ns ?? string.Empty, name!, context.Request.ContentType ?? string.Empty, patch, subresource, write, cancellationToken);
                await WriteObjectAsync(context, resource, HttpStatusCode.OK, patched, write);
                break;
            case "delete":
                var (deleteOptions, dryRunDelete) = await DeleteOptionsAsync(context, dryRun);
                var deleted = await Api.DeleteAsync(resource, ns ?? string.Empty, name!, deleteOptions, cancellationToken, dryRunDelete, user);
                await WriteObjectAsync(context, resource, HttpStatusCode.OK, deleted, write);
                break;
            case "deletecollection":
                var (collectionOptions, dryRunCollection) = await DeleteOptionsAsync(context, dryRun);
                await WriteAsync(context, HttpStatusCode.OK, await Api.DeleteCollectionAsync(resource, ns, filter, collectionOptions, dryRunCollection, cancellationToken, user));
                break;
        }
    }

    /// <summary>A SelfSubjectReview answered: the user the request was made as, impersonation included.</summary>
    private static JsonObject WhoAmI(UserInfo user, JsonObject review)
    {
        var answer = (JsonObject)review.DeepClone();
        answer["apiVersion"] = ResourceRegistry.SelfSubjectReviews.ApiVersion;
        answer["kind"] = ResourceRegistry.SelfSubjectReviews.Kind;
        answer["metadata"] ??= new JsonObject();
        answer["status"] = new JsonObject { ["userInfo"] = user.ToJson() };
        return answer;
    }

    /// <summary>A delete's DeleteOptions: its body, if any, with the propagation policy of the query; a dry run if either asks for one.</summary>
    private static async Task<(JsonObject? Options, bool DryRun)> DeleteOptionsAsync(HttpContext context, bool dryRun)
    {
        var deleteOptions = context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0
            ? JsonNode.Parse(await RequestLimits.ReadBodyAsync(context)) as JsonObject
            : null;
        if (context.Request.Query["propagationPolicy"].FirstOrDefault() is { } policy)
        {
            deleteOptions ??= [];
            deleteOptions["propagationPolicy"] = policy;
        }
        if (deleteOptions?["dryRun"] is JsonArray { Count: > 0 } bodyDryRun)
        {
            dryRun |= bodyDryRun.Any(d => d?.GetValue<string>() == "All");
        }
        return (deleteOptions, dryRun);
    }

    private async Task StreamWatchAsync(HttpContext context, ApiResource resource, string? ns, ObjectFilter filter, bool forceGone)
    {
        var query = context.Request.Query;
        var form = ResponseForm.Of(context.Request.Headers.Accept);
        var table = form == ResponseKind.Table;
        // A metadata informer watches for PartialObjectMetadata; each event carries the object's metadata alone.
        var metadataOnly = form is ResponseKind.PartialObjectMetadata or ResponseKind.PartialObjectMetadataList;
        var bookmarks = query["allowWatchBookmarks"] == "true";
        var timeout = int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan;
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        ObjectWatch watch;
        try
        {
            if (forceGone)
            {
                throw ApiException.Gone($"too old resource version: {query["resourceVersion"]} (injected fault)");
            }
            watch = Api.Watch(resource, ns, filter, query["resourceVersion"], SendInitialEventsOf(query["sendInitialEvents"]), query["resourceVersionMatch"], bookmarks);
        }
        catch (ApiException expired) when (expired.Code == HttpStatusCode.Gone)
        {
            // As the watch cache does: a 200 response carrying one ERROR event with the 410 Status.
            await WriteEventAsync(context, "ERROR", expired.ToStatus());
            return;
        }
        using var _ = watch;
        JsonObject Shown(JsonObject stored) => resource.Conversion?.FromStored(stored) ?? (JsonObject)stored.DeepClone();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping.Token);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(timeout);
        }
        await context.Response.StartAsync(deadline.Token);
        // Headers now, not with the first event: a client waits for them before it reads (kubectl
        // wait, informers that call themselves started), and a quiet resource may have no event for long.
        await context.Response.Body.FlushAsync(deadline.Token);
        using var bookmarkTimer = bookmarks ? new PeriodicTimer(options.BookmarkInterval) : null;
        var bookmarkTask = bookmarkTimer is null ? Task.CompletedTask : Task.Run(async () =>
        {
            while (await bookmarkTimer.WaitForNextTickAsync(deadline.Token))
            {
                if (!stalled.ContainsKey(watch))
                {
                    Api.Storage.Bookmark(watch, resource);
                }
            }
        }, deadline.Token);
        try
        {
            await foreach (var message in watch.Messages.ReadAllAsync(deadline.Token))
            {
                if (stalled.ContainsKey(watch))
                {
                    continue;
                }
                if (table && message.Type != "BOOKMARK")
                {
                    var item = Shown(message.Item); // a copy: the stored object itself is read only
                    await WriteEventAsync(context, message.Type, Tables.Convert(resource, [item], ObjectStorage.ResourceVersionOf(item), query["includeObject"], options.Time.GetUtcNow()));
                }
                else if (metadataOnly)
                {
                    await WriteEventAsync(context, message.Type, ResponseForm.Metadata(message.Item));
                }
                else if (resource.Conversion is { } conversion && message.Type != "BOOKMARK")
                {
                    await WriteEventAsync(context, message.Type, conversion.FromStored(message.Item));
                }
                else if (message.Json is { } json)
                {
                    await WriteEventAsync(context, message.Type, json);
                }
                else
                {
                    await WriteEventAsync(context, message.Type, message.Item);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout, client gone or server stopping: the stream simply ends.
        }
        if (stalled.TryRemove(watch, out var wasStalled) && wasStalled)
        {
            // Half-open: the end never reaches the client; the connection stays until it gives up.
            using var open = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping.Token);
            try
            {
                await Task.Delay(Timeout.Infinite, open.Token);
            }
            catch (OperationCanceledException)
            {
                // The client gave up on it, or the server stops.
            }
        }
        await deadline.CancelAsync();
        try
        {
            await bookmarkTask;
        }
        catch (OperationCanceledException)
        {
            // Stopped with the stream.
        }
    }

    private static Task WriteEventAsync(HttpContext context, string type, JsonObject obj) => WriteEventAsync(context, type, obj.ToJsonString(CompactJson));

    /// <summary>One watch event, its object already serialized (<paramref name="json"/>).</summary>
    private static async Task WriteEventAsync(HttpContext context, string type, string json)
    {
        var line = $"{{\"type\":\"{type}\",\"object\":{json}}}\n";
        await context.Response.WriteAsync(line, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    /// <summary>
    /// Who makes a write, for managedFields: the fieldManager parameter, else the user agent up to
    /// its first '/', as upstream. Server-side apply must name one.
    /// </summary>
    private static string FieldManagerOf(HttpContext context, bool isApply)
    {
        var named = context.Request.Query["fieldManager"].FirstOrDefault();
        if (named is not null && (named.Length > 128 || named.Any(char.IsControl)))
        {
            throw ApiException.InvalidOptions("PatchOptions.meta.k8s.io", "fieldManager", $"Invalid value: \"{named[..Math.Min(named.Length, 128)]}\": must be at most 128 printable characters");
        }
        if (string.IsNullOrEmpty(named) && isApply)
        {
            throw ApiException.InvalidOptions("PatchOptions.meta.k8s.io", "fieldManager", "Required value: is required for apply patch");
        }
        if (!string.IsNullOrEmpty(named))
        {
            return named;
        }
        var agent = context.Request.Headers.UserAgent.ToString();
        var prefix = agent.Split('/')[0].Trim();
        return prefix.Length is > 0 and <= 128 && !prefix.Any(char.IsControl) ? prefix : WriteOptions.UnknownManager;
    }

    /// <summary>A watch's sendInitialEvents: absent, true or false (provided either way, which a resourceVersionMatch needs).</summary>
    private static bool? SendInitialEventsOf(string? value) => value switch
    {
        null => null,
        "true" or "1" => true,
        "false" or "0" => false,
        _ => throw ApiException.BadRequest($"invalid value for sendInitialEvents: \"{value}\": must be true or false"),
    };

    private static bool ForceOf(string? force, bool isApply) => force switch
    {
        null or "" or "false" => false,
        "true" when isApply => true,
        "true" => throw ApiException.InvalidOptions("PatchOptions.meta.k8s.io", "force", "Forbidden: may not be specified for non-apply patch"),
        _ => throw ApiException.BadRequest($"invalid value for force: \"{force}\": must be true or false"),
    };

    private static async Task<JsonObject> ReadBodyAsync(HttpContext context)
    {
        var bytes = await RequestLimits.ReadBodyAsync(context);
        return ProtobufBody.IsProtobuf(context.Request.ContentType)
            ? ClientInput.Read(() => ProtobufBody.Decode(bytes))
            : JsonNode.Parse(bytes) as JsonObject ?? throw ApiException.BadRequest("the request body must be a JSON object");
    }

    private async Task WriteObjectAsync(HttpContext context, ApiResource resource, HttpStatusCode code, JsonObject obj, WriteOptions write)
    {
        foreach (var warning in write.Warnings)
        {
            context.Response.Headers.Append("Warning", $"299 - \"{warning.Replace("\"", "'", StringComparison.Ordinal)}\"");
        }
        if (context.Request.Method == "GET")
        {
            obj = ResponseForm.Of(context.Request.Headers.Accept) switch
            {
                ResponseKind.Table => Tables.Convert(resource, [obj], ObjectStorage.ResourceVersionOf(obj), context.Request.Query["includeObject"], options.Time.GetUtcNow()),
                ResponseKind.PartialObjectMetadata => ResponseForm.Metadata(obj),
                ResponseKind.PartialObjectMetadataList => throw ResponseForm.NotAcceptable("you requested PartialObjectMetadataList, but the requested object is not a list"),
                _ => obj,
            };
        }
        await WriteAsync(context, code, obj);
    }

    private static async Task WriteAsync(HttpContext context, HttpStatusCode code, JsonObject body, string contentType = "application/json")
    {
        context.Response.StatusCode = (int)code;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(body.ToJsonString(CompactJson), Encoding.UTF8, context.RequestAborted);
    }

    private static string ReasonOf(HttpStatusCode code) => code switch
    {
        HttpStatusCode.TooManyRequests => "TooManyRequests",
        HttpStatusCode.ServiceUnavailable => "ServiceUnavailable",
        HttpStatusCode.GatewayTimeout => "Timeout",
        HttpStatusCode.Conflict => "Conflict",
        HttpStatusCode.NotFound => "NotFound",
        HttpStatusCode.Forbidden => "Forbidden",
        _ => "InternalError",
    };
}
