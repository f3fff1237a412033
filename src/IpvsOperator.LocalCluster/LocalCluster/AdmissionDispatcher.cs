using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// Calls validating admission webhooks the way kube-apiserver does: every
/// ValidatingWebhookConfiguration whose rules and selectors match the request gets an
/// AdmissionReview v1 over HTTPS, verified against its <c>caBundle</c>, within its
/// <c>timeoutSeconds</c>; a denial or (with <c>failurePolicy: Fail</c>) a failed call refuses
/// the request. A webhook addressed by Service is dialled through <see cref="MapService"/>,
/// while TLS still checks the name <c>service.namespace.svc</c>, as inside a cluster.
/// </summary>
public sealed class AdmissionDispatcher(ObjectStorage storage)
{
    private readonly ConcurrentDictionary<string, DnsEndPoint[]> serviceEndpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HttpClient> clients = new(StringComparer.Ordinal);
    private int connections;

    /// <summary>Where connections to the Service <paramref name="ns"/>/<paramref name="name"/> go (its "endpoints").</summary>
    public void MapService(string ns, string name, string host, int port) =>
        serviceEndpoints[$"{name}.{ns}.svc"] = [new DnsEndPoint(host, port)];

    /// <summary>A Service with several endpoints (replicas): each new connection goes to the next, as kube-proxy would spread them.</summary>
    public void MapService(string ns, string name, IEnumerable<(string Host, int Port)> endpoints) =>
        serviceEndpoints[$"{name}.{ns}.svc"] = [.. endpoints.Select(e => new DnsEndPoint(e.Host, e.Port))];

    /// <summary>Who writes when no request does (garbage collection, a namespace's cleanup): the administrator, as a controller of kube-controller-manager would be trusted.</summary>
    private static readonly UserInfo Server = new("system:admin", ["system:masters", "system:authenticated"]);
    private AdmissionPolicies? policies;

    /// <summary>ValidatingAdmissionPolicies first, then the webhooks, as kube-apiserver orders them.</summary>
    public async Task<List<string>> ValidateAsync(AdmissionAttributes request, CancellationToken cancellationToken)
    {
        var user = request.User ?? Server;
        var warnings = (policies ??= new AdmissionPolicies(storage, this)).Validate(request, user);
        var (configurations, _, _, _) = storage.List(ResourceRegistry.ValidatingWebhookConfigurations, null, ObjectFilter.Everything, null, 0);
        foreach (var webhook in configurations.SelectMany(c => (c["webhooks"] as JsonArray)?.OfType<JsonObject>() ?? []))
        {
            if (!Matches(webhook, request) || !ConditionsHold(webhook, request))
            {
                continue;
            }
            if (request.DryRun && webhook["sideEffects"]?.GetValue<string>() is not ("None" or "NoneOnDryRun"))
            {
                // As kube-apiserver: a webhook that may have side effects is never called on a dry run, which it refuses.
                throw ApiException.BadRequest($"admission webhook \"{webhook["name"]}\" does not support dry run");
            }
            var response = await CallAsync(webhook, request, user, cancellationToken);
            if (response is null)
            {
                continue;
            }
            warnings.AddRange((response["warnings"] as JsonArray)?.Select(w => w!.GetValue<string>()) ?? []);
            if (response["allowed"]?.GetValue<bool>() != true)
            {
                throw Denied(webhook["name"]!.GetValue<string>(), response["status"] as JsonObject);
            }
        }
        return warnings;
    }

    /// <summary>The webhook's verdict, or null when a failed call is to be ignored (<c>failurePolicy: Ignore</c>).</summary>
    private async Task<JsonObject?> CallAsync(JsonObject webhook, AdmissionAttributes request, UserInfo user, CancellationToken cancellationToken)
    {
        var name = webhook["name"]!.GetValue<string>();
        var uid = Guid.NewGuid().ToString();
        var timeout = TimeSpan.FromSeconds(Math.Clamp(webhook["timeoutSeconds"]?.GetValue<int>() ?? 10, 1, 30));
        var failClosed = webhook["failurePolicy"]?.GetValue<string>() != "Ignore";
        var clientConfig = webhook["clientConfig"] as JsonObject ?? [];
        Uri url;
        try
        {
            url = Url(clientConfig);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            var client = Client(clientConfig["caBundle"]?.GetValue<string>());
            using var reply = await client.PostAsJsonAsync(url, Review(request, user, uid), deadline.Token);
            reply.EnsureSuccessStatusCode();
            var body = await reply.Content.ReadFromJsonAsync<JsonObject>(deadline.Token);
            var response = body?["response"] as JsonObject
                ?? throw new InvalidOperationException("the reply has no \"response\"");
            if (response["uid"]?.GetValue<string>() != uid)
            {
                throw new InvalidOperationException($"the reply's uid {response["uid"]} is not the request's {uid}");
            }
            return response;
        }
        catch (Exception error) when (error is not ApiException && !cancellationToken.IsCancellationRequested)
        {
            if (!failClosed)
            {
                return null;
            }
            var why = error is OperationCanceledException ? $"context deadline exceeded after {timeout.TotalSeconds}s" : error.Message;
            throw new ApiException(HttpStatusCode.InternalServerError, "InternalError",
                $"Internal error occurred: failed calling webhook \"{name}\": failed to call webhook: {why}");
        }
    }

    private static JsonObject Review(AdmissionAttributes request, UserInfo user, string uid)
    {
        var resource = request.Resource;
        var kind = new JsonObject { ["group"] = resource.Group, ["version"] = resource.Version, ["kind"] = resource.Kind };
        var gvr = new JsonObject { ["group"] = resource.Group, ["version"] = resource.Version, ["resource"] = resource.Plural };
        var body = new JsonObject
        {
            ["uid"] = uid,
            ["kind"] = kind,
            ["resource"] = gvr,
            ["requestKind"] = kind.DeepClone(),
            ["requestResource"] = gvr.DeepClone(),
            ["name"] = request.Name,
            ["operation"] = request.Operation,
            ["userInfo"] = user.ToJson(),
            ["object"] = request.NewObject?.DeepClone(),
            ["oldObject"] = request.OldObject?.DeepClone(),
            ["dryRun"] = request.DryRun,
            ["options"] = request.Options?.DeepClone(),
        };
        if (request.Namespace.Length > 0)
        {
            body["namespace"] = request.Namespace;
        }
        if (request.Subresource is { } subresource)
        {
            body["subResource"] = subresource;
        }
        return new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["request"] = body };
    }

    /// <summary>
    /// As kube-apiserver's ToStatusErr: the webhook's status, its message prefixed, its reason and
    /// details (the causes naming fields) kept; a code below 400 (or none) becomes 403.
    /// </summary>
    private static ApiException Denied(string webhook, JsonObject? status)
    {
        var code = status?["code"]?.GetValue<int>() ?? 0;
        var reason = status?["reason"]?.GetValue<string>() ?? string.Empty;
        var message = status?["message"]?.GetValue<string>();
        var deniedBy = $"admission webhook \"{webhook}\" denied the request";
        var text = !string.IsNullOrEmpty(message) ? $"{deniedBy}: {message}"
            : reason.Length > 0 ? $"{deniedBy}: {reason}" : $"{deniedBy} without explanation";
        return new ApiException(code < 400 ? HttpStatusCode.Forbidden : (HttpStatusCode)code, reason, text, status?["details"]?.DeepClone() as JsonObject);
    }

    private static Uri Url(JsonObject clientConfig)
    {
        if (clientConfig["url"]?.GetValue<string>() is { } url)
        {
            return new Uri(url);
        }
        if (clientConfig["service"] is JsonObject service)
        {
            var host = $"{service["name"]}.{service["namespace"]}.svc";
            var port = service["port"]?.GetValue<int>() ?? 443;
            return new Uri($"https://{host}:{port}{service["path"]?.GetValue<string>() ?? "/"}");
        }
        throw new InvalidOperationException("clientConfig names neither url nor service");
    }

    private HttpClient Client(string? caBundle) => clients.GetOrAdd(caBundle ?? string.Empty, bundle =>
    {
        var roots = new X509Certificate2Collection();
        if (bundle.Length > 0)
        {
            roots.ImportFromPem(Encoding.UTF8.GetString(Convert.FromBase64String(bundle)));
        }
        var handler = new SocketsHttpHandler
        {
            // New connections, and so new TLS handshakes, every few seconds: a certificate swapped on a
            // webhook server is soon met, and several replicas behind one Service all get requests.
            PooledConnectionLifetime = TimeSpan.FromSeconds(2),
            ConnectCallback = async (context, token) =>
            {
                var target = serviceEndpoints.TryGetValue(context.DnsEndPoint.Host, out var endpoints) && endpoints.Length > 0
                    ? endpoints[(int)((uint)Interlocked.Increment(ref connections) % endpoints.Length)]
                    : context.DnsEndPoint;
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(target, token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                    certificate is not null && !errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) && roots.Count > 0
                    && TrustedBy(new X509Certificate2(certificate), roots),
            },
        };
        return new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    });

    private static bool TrustedBy(X509Certificate2 certificate, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>
    /// Whether a webhook's rules and selectors (or a policy's matchConstraints, whose rules are
    /// <paramref name="rulesField"/> "resourceRules", with excludeResourceRules) take the request.
    /// </summary>
    internal bool Matches(JsonObject webhook, AdmissionAttributes request, string rulesField = "rules")
    {
        var rules = (webhook[rulesField] as JsonArray)?.OfType<JsonObject>() ?? [];
        if (!rules.Any(rule => RuleMatches(rule, request)) || (webhook["excludeResourceRules"] as JsonArray)?.OfType<JsonObject>().Any(rule => RuleMatches(rule, request)) == true)
        {
            return false;
        }
        if (webhook["objectSelector"] is JsonObject objectSelector && objectSelector.Count > 0)
        {
            var selector = LabelQuery.FromObject(objectSelector);
            if (!new[] { request.NewObject, request.OldObject }.Any(o => o is not null && selector.Matches(Labels(o))))
            {
                return false;
            }
        }
        if (webhook["namespaceSelector"] is JsonObject namespaceSelector && namespaceSelector.Count > 0 && request.Namespace.Length > 0)
        {
            var ns = storage.Get(ResourceRegistry.Namespaces, string.Empty, request.Namespace);
            return ns is not null && LabelQuery.FromObject(namespaceSelector).Matches(Labels(ns));
        }
        return true;
    }

    /// <summary>
    /// Every matchCondition true: the webhook is called. One false: it is not. One that cannot be
    /// evaluated: the request is refused (failurePolicy Fail) or the webhook skipped (Ignore), as kube-apiserver does.
    /// </summary>
    private static bool ConditionsHold(JsonObject webhook, AdmissionAttributes request)
    {
        foreach (var condition in (webhook["matchConditions"] as JsonArray)?.OfType<JsonObject>().Select(MatchCondition.Parse) ?? [])
        {
            switch (condition.Evaluate(request.NewObject, request.OldObject))
            {
                case false:
                    return false;
                case null when webhook["failurePolicy"]?.GetValue<string>() == "Ignore":
                    return false;
                case null:
                    throw new ApiException(HttpStatusCode.InternalServerError, "InternalError",
                        $"failed calling webhook \"{webhook["name"]}\": matchCondition {condition.Name}: no such key: {string.Join('.', condition.Path)}");
            }
        }
        return true;
    }

    private static bool RuleMatches(JsonObject rule, AdmissionAttributes request)
    {
        static bool Has(JsonObject rule, string field, string value) =>
            (rule[field] as JsonArray)?.Any(v => v?.GetValue<string>() is "*" || v?.GetValue<string>() == value) == true;

        var resource = request.Resource;
        var scope = rule["scope"]?.GetValue<string>() ?? "*";
        var scopeMatches = scope == "*" || (scope == "Namespaced") == resource.Namespaced;
        var wanted = request.Subresource is null ? resource.Plural : $"{resource.Plural}/{request.Subresource}";
        var resourceMatches = (rule["resources"] as JsonArray)?.Select(v => v!.GetValue<string>()).Any(r =>
            r == wanted || r == "*/*"
            || (r == "*" && request.Subresource is null)
            || (r == $"{resource.Plural}/*" && request.Subresource is not null)
            || (r == $"*/{request.Subresource}" && request.Subresource is not null)) == true;
        var names = (rule["resourceNames"] as JsonArray)?.Select(v => v?.GetValue<string>()).ToList();
        return scopeMatches && resourceMatches && Has(rule, "operations", request.Operation)
            && Has(rule, "apiGroups", resource.Group) && Has(rule, "apiVersions", resource.Version)
            && (names is not { Count: > 0 } || names.Contains(request.Name));
    }

    private static Dictionary<string, string> Labels(JsonObject obj) =>
        (obj["metadata"]?["labels"] as JsonObject)?.ToDictionary(p => p.Key, p => p.Value?.GetValue<string>() ?? string.Empty) ?? [];
}

/// <summary>What an admission webhook is told about a request.</summary>
public sealed record AdmissionAttributes(
    ApiResource Resource,
    string Operation,
    string Namespace,
    string Name,
    string? Subresource,
    JsonObject? NewObject,
    JsonObject? OldObject,
    bool DryRun = false,
    JsonObject? Options = null)
{
    /// <summary>Who makes the request (impersonation applied): the AdmissionReview's <c>userInfo</c>, extra values included.</summary>
    public UserInfo? User { get; init; }
}
