using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>Who a request comes from: a user name, its groups, and its uid and extra values (a pod-bound token's, or an impersonating client's), as kube-apiserver's authenticators say.</summary>
public sealed record UserInfo(string Name, IReadOnlyList<string> Groups)
{
    /// <summary>The key under which a ServiceAccount token bound to a pod names the pod's node (Kubernetes 1.32 and later).</summary>
    public const string NodeNameKey = "authentication.kubernetes.io/node-name";

    /// <summary>The administrator: the group kube-apiserver lets do anything.</summary>
    public bool IsAdministrator => Groups.Contains("system:masters");

    public string Uid { get; init; } = string.Empty;

    /// <summary>What an authenticator (a pod-bound ServiceAccount token: its pod and node) or an impersonating client says besides: what admission reads as <c>userInfo.extra</c>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Extra { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    /// <summary>As authentication.k8s.io/v1 UserInfo writes it: in a SelfSubjectReview and an AdmissionReview.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["username"] = Name };
        if (Uid.Length > 0)
        {
            json["uid"] = Uid;
        }
        json["groups"] = new JsonArray([.. Groups.Select(g => (JsonNode?)g)]);
        if (Extra.Count > 0)
        {
            json["extra"] = new JsonObject(Extra.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)new JsonArray([.. e.Value.Select(v => (JsonNode?)v)]))));
        }
        return json;
    }
}

/// <summary>
/// Bearer tokens, as kube-apiserver's static token file: each token names a user. The
/// administrator's token is random per start unless given; further tokens name the users (and
/// ServiceAccounts) that tests and local mode run components as. A request without a known token is
/// refused with 401, as upstream with anonymous authentication off.
/// </summary>
public sealed class Authenticator
{
    private readonly ConcurrentDictionary<string, UserInfo> users = new(StringComparer.Ordinal);

    public Authenticator(string? administratorToken)
    {
        AdministratorToken = administratorToken ?? NewToken();
        users[AdministratorToken] = new UserInfo("system:admin", ["system:masters", "system:authenticated"]);
    }

    public string AdministratorToken { get; }

    /// <summary>A new token for a user; requests with it are made as that user.</summary>
    public string AddUser(string name, params string[] groups)
    {
        var token = NewToken();
        users[token] = new UserInfo(name, [.. groups, "system:authenticated"]);
        return token;
    }

    /// <summary>
    /// A token for a ServiceAccount, as a pod of it would carry: user and groups as upstream names
    /// them; with <paramref name="nodeName"/>, the token of a pod on that node, whose user info
    /// names the node (<see cref="UserInfo.NodeNameKey"/>), as kube-apiserver projects it.
    /// </summary>
    public string AddServiceAccount(string ns, string name, string? nodeName = null)
    {
        var token = NewToken();
        users[token] = new UserInfo($"system:serviceaccount:{ns}:{name}", ["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"])
        {
            Extra = nodeName is null ? new Dictionary<string, IReadOnlyList<string>>() : new Dictionary<string, IReadOnlyList<string>> { [UserInfo.NodeNameKey] = [nodeName] },
        };
        return token;
    }

    public UserInfo? Authenticate(string? authorization) =>
        authorization is { Length: > 7 } header && header.StartsWith("Bearer ", StringComparison.Ordinal) && users.TryGetValue(header[7..].Trim(), out var user)
            ? user
            : null;

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
