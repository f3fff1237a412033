using System.Net;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>What a request asks to do, as an authorizer sees it.</summary>
public sealed record AccessRequest(string Verb, ApiResource Resource, string? Subresource, string Namespace, string? Name)
{
    public string ResourcePath => Subresource is null ? Resource.Plural : $"{Resource.Plural}/{Subresource}";
}

/// <summary>
/// Kubernetes RBAC as kube-apiserver evaluates it, on the ClusterRoles, Roles and bindings stored
/// in this server: a request is allowed when a rule of a role bound to the user (by name, group or
/// ServiceAccount; cluster-wide, or in the request's namespace) names its API group, resource
/// (with subresource), verb and, where the rule lists them, the object's name. The administrator
/// (group system:masters) may do anything; every authenticated user may read discovery. Nothing is
/// allowed by default, so a component run as its ServiceAccount fails here, as on a cluster, when
/// its generated roles lack a permission it uses.
/// </summary>
public sealed class RbacAuthorizer(ObjectStorage storage)
{
    public void Authorize(UserInfo user, AccessRequest request)
    {
        // Any authenticated user may ask what it may do (upstream's system:basic-user role).
        if (Allows(user, request) || (request.Resource.IsReview && request.Verb == "create"))
        {
            return;
        }
        var where = request.Resource.Namespaced && request.Namespace.Length > 0 ? $" in the namespace \"{request.Namespace}\"" : " at the cluster scope";
        var subject = request.Name is { Length: > 0 } name ? $"{request.Resource.QualifiedName} \"{name}\"" : request.Resource.QualifiedName;
        throw new ApiException(HttpStatusCode.Forbidden, "Forbidden",
            $"{subject} is forbidden: User \"{user.Name}\" cannot {request.Verb} resource \"{request.ResourcePath}\" in API group \"{request.Resource.Group}\"{where}");
    }

    /// <summary>Whether RBAC lets <paramref name="user"/> make <paramref name="request"/>.</summary>
    public bool Allows(UserInfo user, AccessRequest request) => user.IsAdministrator || Allowed(user, request);

    /// <summary>
    /// The answer to a SelfSubjectAccessReview: its spec's resource or non-resource attributes
    /// judged for <paramref name="user"/>, returned with <c>status.allowed</c> (and why, if allowed).
    /// </summary>
    public JsonObject Review(UserInfo user, JsonObject review, ResourceRegistry registry)
    {
        var spec = review["spec"] as JsonObject ?? throw ApiException.BadRequest("a SelfSubjectAccessReview needs a spec");
        bool allowed;
        if (spec["resourceAttributes"] is JsonObject attributes)
        {
            string Text(string field) => attributes[field]?.GetValue<string>() ?? string.Empty;
            var group = Text("group");
            var plural = Text("resource");
            var ns = Text("namespace");
            // A type not served here is judged all the same, as RBAC does: by its group and name.
            var resource = registry.All.FirstOrDefault(r => r.Group == group && r.Plural == plural)
                ?? new ApiResource(group, Text("version"), string.Empty, plural, ns.Length > 0, [], false);
            var subresource = Text("subresource");
            var name = Text("name");
            allowed = Allows(user, new AccessRequest(Text("verb"), resource, subresource.Length == 0 ? null : subresource, ns, name.Length == 0 ? null : name));
        }
        else if (spec["nonResourceAttributes"] is JsonObject nonResource)
        {
            // Discovery, version and health are every authenticated user's; the rest the administrator's.
            var path = nonResource["path"]?.GetValue<string>() ?? string.Empty;
            var verb = nonResource["verb"]?.GetValue<string>() ?? string.Empty;
            allowed = user.IsAdministrator || (verb == "get" && (path is "/api" or "/apis" or "/version" or "/healthz" or "/livez" or "/readyz" or "/openapi/v3"
                || path.StartsWith("/api/", StringComparison.Ordinal) || path.StartsWith("/apis/", StringComparison.Ordinal) || path.StartsWith("/openapi/", StringComparison.Ordinal)));
        }
        else
        {
            throw ApiException.Invalid(ResourceRegistry.SelfSubjectAccessReviews, string.Empty,
                [("spec.resourceAttributes", "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified")]);
        }
        return Answered(review, "SelfSubjectAccessReview", allowed
            ? new JsonObject { ["allowed"] = true, ["reason"] = user.IsAdministrator ? "the administrator (system:masters) may do anything" : "allowed by an RBAC role bound to the user" }
            : new JsonObject { ["allowed"] = false });
    }

    /// <summary>
    /// The answer to a SelfSubjectRulesReview (<c>kubectl auth can-i --list</c>): every rule of the
    /// roles bound to <paramref name="user"/> cluster-wide and in the spec's namespace.
    /// </summary>
    public JsonObject RulesReview(UserInfo user, JsonObject review)
    {
        var ns = review["spec"]?["namespace"]?.GetValue<string>() ?? string.Empty;
        var rules = new JsonArray();
        var nonResource = new JsonArray(new JsonObject
        {
            ["verbs"] = new JsonArray("get"),
            ["nonResourceURLs"] = new JsonArray("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version", "/openapi", "/openapi/*"),
        });
        if (user.IsAdministrator)
        {
            rules.Add(new JsonObject { ["verbs"] = new JsonArray("*"), ["apiGroups"] = new JsonArray("*"), ["resources"] = new JsonArray("*") });
            nonResource.Add(new JsonObject { ["verbs"] = new JsonArray("*"), ["nonResourceURLs"] = new JsonArray("*") });
        }
        rules.Add(new JsonObject
        {
            ["verbs"] = new JsonArray("create"),
            ["apiGroups"] = new JsonArray("authorization.k8s.io"),
            ["resources"] = new JsonArray("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
        });
        var bound = All(ResourceRegistry.ClusterRoleBindings, null).Where(b => Binds(b, user)).SelectMany(b => RulesOf(b["roleRef"] as JsonObject, null));
        if (ns.Length > 0)
        {
            bound = bound.Concat(All(ResourceRegistry.RoleBindings, ns).Where(b => Binds(b, user)).SelectMany(b => RulesOf(b["roleRef"] as JsonObject, ns)));
        }
        foreach (var rule in bound.Where(r => r["resources"] is JsonArray { Count: > 0 }))
        {
            rules.Add(rule.DeepClone());
        }
        return Answered(review, "SelfSubjectRulesReview", new JsonObject { ["resourceRules"] = rules, ["nonResourceRules"] = nonResource, ["incomplete"] = false });
    }

    /// <summary>A review as the server answers it: what was asked, with its status.</summary>
    private static JsonObject Answered(JsonObject review, string kind, JsonObject status)
    {
        var answer = (JsonObject)review.DeepClone();
        answer["apiVersion"] = "authorization.k8s.io/v1";
        answer["kind"] = kind;
        answer["metadata"] ??= new JsonObject();
        answer["status"] = status;
        return answer;
    }

    private bool Allowed(UserInfo user, AccessRequest request)
    {
        foreach (var binding in All(ResourceRegistry.ClusterRoleBindings, null).Where(b => Binds(b, user)))
        {
            if (RulesOf(binding["roleRef"] as JsonObject, null).Any(r => Covers(r, request)))
            {
                return true;
            }
        }
        if (request.Resource.Namespaced && request.Namespace.Length > 0)
        {
            foreach (var binding in All(ResourceRegistry.RoleBindings, request.Namespace).Where(b => Binds(b, user)))
            {
                if (RulesOf(binding["roleRef"] as JsonObject, request.Namespace).Any(r => Covers(r, request)))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private List<JsonObject> All(ApiResource resource, string? ns) => storage.List(resource, ns, ObjectFilter.Everything, null, 0).Items;

    /// <summary>The rules a binding's roleRef names: a ClusterRole, or a Role of the binding's namespace.</summary>
    private IEnumerable<JsonObject> RulesOf(JsonObject? roleRef, string? ns)
    {
        var kind = roleRef?["kind"]?.GetValue<string>();
        var name = roleRef?["name"]?.GetValue<string>() ?? string.Empty;
        var role = kind == "ClusterRole" ? storage.Get(ResourceRegistry.ClusterRoles, string.Empty, name)
            : kind == "Role" && ns is not null ? storage.Get(ResourceRegistry.Roles, ns, name)
            : null;
        return (role?["rules"] as JsonArray)?.OfType<JsonObject>() ?? [];
    }

    private static bool Binds(JsonObject binding, UserInfo user) =>
        (binding["subjects"] as JsonArray)?.OfType<JsonObject>().Any(subject => subject["kind"]?.GetValue<string>() switch
        {
            "User" => subject["name"]?.GetValue<string>() == user.Name,
            "Group" => user.Groups.Contains(subject["name"]?.GetValue<string>() ?? string.Empty),
            "ServiceAccount" => user.Name == $"system:serviceaccount:{subject["namespace"]?.GetValue<string>()}:{subject["name"]?.GetValue<string>()}",
            _ => false,
        }) == true;

    private static bool Covers(JsonObject rule, AccessRequest request)
    {
        static bool Lists(JsonObject rule, string field, string value) =>
            (rule[field] as JsonArray)?.Any(v => v?.GetValue<string>() is { } item && (item == "*" || item == value)) == true;

        if (!Lists(rule, "apiGroups", request.Resource.Group) || !Lists(rule, "verbs", request.Verb) || !Lists(rule, "resources", request.ResourcePath))
        {
            return false;
        }
        // Named rules cover only requests about one named object (never create, list or watch).
        var names = (rule["resourceNames"] as JsonArray)?.Select(n => n!.GetValue<string>()).ToList() ?? [];
        return names.Count == 0 || (request.Name is { Length: > 0 } name && names.Contains(name));
    }
}
