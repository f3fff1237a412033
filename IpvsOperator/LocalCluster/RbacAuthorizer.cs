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
        if (user.IsAdministrator || Allowed(user, request))
        {
            return;
        }
        var where = request.Resource.Namespaced && request.Namespace.Length > 0 ? $" in the namespace \"{request.Namespace}\"" : " at the cluster scope";
        var subject = request.Name is { Length: > 0 } name ? $"{request.Resource.QualifiedName} \"{name}\"" : request.Resource.QualifiedName;
        throw new ApiException(HttpStatusCode.Forbidden, "Forbidden",
            $"{subject} is forbidden: User \"{user.Name}\" cannot {request.Verb} resource \"{request.ResourcePath}\" in API group \"{request.Resource.Group}\"{where}");
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
