using System.Net;
using Microsoft.AspNetCore.Http;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// kube-apiserver's impersonation filter: the <c>Impersonate-User</c>, <c>-Group</c>, <c>-Uid</c>
/// and <c>-Extra-KEY</c> headers (<c>kubectl --as</c>, <c>--as-group</c>, <c>--as-uid</c>) make a
/// request act as another user, once RBAC lets the requester <c>impersonate</c> each thing asked
/// for: the user (<c>users</c>, or <c>serviceaccounts</c> in its namespace for
/// <c>system:serviceaccount:NS:NAME</c>), each group, the uid (<c>uids</c>) and each extra value
/// (<c>userextras/KEY</c>, in authentication.k8s.io). A refusal is upstream's 403, naming what
/// could not be impersonated; the request then runs, and is judged, as the impersonated user.
/// </summary>
internal static class Impersonation
{
    private const string UserHeader = "Impersonate-User";
    private const string GroupHeader = "Impersonate-Group";
    private const string UidHeader = "Impersonate-Uid";
    private const string ExtraHeaderPrefix = "Impersonate-Extra-";
    private const string ServiceAccountPrefix = "system:serviceaccount:";

    private static readonly ApiResource Users = new("", "v1", "User", "users", false, [], false);
    private static readonly ApiResource Groups = new("", "v1", "Group", "groups", false, [], false);
    private static readonly ApiResource ServiceAccounts = new("", "v1", "ServiceAccount", "serviceaccounts", true, [], false);
    private static readonly ApiResource Uids = new("authentication.k8s.io", "v1", "UID", "uids", false, [], false);
    private static readonly ApiResource UserExtras = new("authentication.k8s.io", "v1", "UserExtra", "userextras", false, [], false);

    /// <summary>Who the request acts as: <paramref name="requestor"/> itself when it impersonates no one.</summary>
    public static UserInfo Apply(UserInfo requestor, IHeaderDictionary headers, RbacAuthorizer authorizer)
    {
        var user = headers[UserHeader].FirstOrDefault() ?? string.Empty;
        var groups = headers[GroupHeader].OfType<string>().ToList();
        var uid = headers[UidHeader].FirstOrDefault() ?? string.Empty;
        var extra = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (header, values) in headers)
        {
            if (header.StartsWith(ExtraHeaderPrefix, StringComparison.OrdinalIgnoreCase))
            {
                // Header names are case-insensitive, so keys are lower case; a key may be %-encoded ("acme.com%2Fproject").
                var key = UnescapeKey(header[ExtraHeaderPrefix.Length..].ToLowerInvariant());
                extra.TryAdd(key, []);
                extra[key].AddRange(values.OfType<string>());
            }
        }
        if (user.Length == 0)
        {
            if (groups.Count > 0 || extra.Count > 0 || uid.Length > 0)
            {
                throw new ApiException(HttpStatusCode.InternalServerError, "InternalError",
                    "Internal error occurred: requested impersonation of groups, a uid or extra values without impersonating a user");
            }
            return requestor;
        }

        var groupsGiven = groups.Count > 0;
        if (user.StartsWith(ServiceAccountPrefix, StringComparison.Ordinal) && user[ServiceAccountPrefix.Length..].Split(':') is [{ Length: > 0 } ns, { Length: > 0 } name])
        {
            authorizer.Authorize(requestor, new AccessRequest("impersonate", ServiceAccounts, null, ns, name));
            if (!groupsGiven)
            {
                // A ServiceAccount's groups are known: those its token would carry.
                groups = ["system:serviceaccounts", $"system:serviceaccounts:{ns}"];
            }
        }
        else
        {
            authorizer.Authorize(requestor, new AccessRequest("impersonate", Users, null, string.Empty, user));
        }
        if (groupsGiven)
        {
            foreach (var group in groups)
            {
                authorizer.Authorize(requestor, new AccessRequest("impersonate", Groups, null, string.Empty, group));
            }
        }
        foreach (var (key, values) in extra)
        {
            foreach (var value in values)
            {
                authorizer.Authorize(requestor, new AccessRequest("impersonate", UserExtras, key, string.Empty, value));
            }
        }
        if (uid.Length > 0)
        {
            authorizer.Authorize(requestor, new AccessRequest("impersonate", Uids, null, string.Empty, uid));
        }
        // As upstream: everyone but the anonymous user is authenticated, unless the groups say otherwise.
        if (user == "system:anonymous")
        {
            if (!groups.Contains("system:unauthenticated"))
            {
                groups.Add("system:unauthenticated");
            }
        }
        else if (!groups.Contains("system:authenticated") && !groups.Contains("system:unauthenticated"))
        {
            groups.Add("system:authenticated");
        }
        return new UserInfo(user, groups)
        {
            Uid = uid,
            Extra = extra.ToDictionary(e => e.Key, e => (IReadOnlyList<string>)e.Value, StringComparer.Ordinal),
        };
    }

    private static string UnescapeKey(string key)
    {
        try
        {
            return Uri.UnescapeDataString(key);
        }
        catch (UriFormatException)
        {
            return key; // kept as sent, as upstream keeps a malformed key
        }
    }
}
