using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// Impersonation as kube-apiserver does it (issue 35, item 5): <c>kubectl --as</c> acts as another
/// user once RBAC grants the <c>impersonate</c> verb, so rights are checked locally as on a cluster.
/// </summary>
public class ImpersonationTests : LocalClusterFixture
{
    private const string NodeAgent = "system:serviceaccount:ipvs-operator-node:ipvs-operator-node";

    private KubectlSession kubectl = null!;

    [OneTimeSetUp]
    public void StartKubectlSession() => kubectl = new KubectlSession(Server);

    [OneTimeTearDown]
    public void EndKubectlSession() => kubectl.Dispose();

    /// <summary>The node agent's namespace, ServiceAccount and roles, as <c>kubectl apply -k config/node</c> makes them (its DaemonSet left out: no apps/v1 here).</summary>
    private async Task InstallNodeRbacAsync()
    {
        var built = await kubectl.RunAsync("kustomize", Path.Combine(RepositoryRoot.Path, "config", "node"));
        built.ExitCode.Should().Be(0, built.Error);
        var documents = built.Output.Split("\n---\n").Where(d => !d.Contains("kind: DaemonSet", StringComparison.Ordinal));
        var applied = await kubectl.RunWithInputAsync(string.Join("\n---\n", documents), "apply", "--server-side", "-f", "-");
        applied.ExitCode.Should().Be(0, applied.Error);
    }

    [Test]
    public async Task Kubectl_auth_can_i_as_the_node_agent_answers_from_the_generated_RBAC()
    {
        await InstallNodeRbacAsync();

        async Task<string> CanI(params string[] arguments) => (await kubectl.RunAsync(["auth", "can-i", .. arguments, $"--as={NodeAgent}"])).Output.Trim();

        (await CanI("watch", "services", "-A")).Should().Be("yes", "the generated ClusterRole lets the agent watch Services");
        (await CanI("delete", "services", "-n", "default")).Should().Be("no", "the agent never deletes a Service; the administrator could");
        (await CanI("get", "secrets/ipvs-operator-peer-key", "-n", "ipvs-operator-node")).Should().Be("yes", "its Role names that one Secret");
        (await CanI("get", "secrets/someone-elses", "-n", "ipvs-operator-node")).Should().Be("no");
        (await CanI("create", "ipallocations.ipvsoperator.io")).Should().Be("no", "only the controller claims addresses");
    }

    /// <summary>A GET as <paramref name="token"/>'s user, impersonating as the headers say: the status code and the Status message.</summary>
    private async Task<(System.Net.HttpStatusCode Code, string Message)> GetAsAsync(string token, string path, params (string Header, string Value)[] impersonation)
    {
        using var http = Server.CreateHttpClient(token);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (header, value) in impersonation)
        {
            request.Headers.Add(header, value);
        }
        using var response = await http.SendAsync(request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return (response.StatusCode, body["message"]?.GetValue<string>() ?? string.Empty);
    }

    [Test]
    public async Task Impersonating_without_the_impersonate_verb_is_forbidden_with_upstreams_message()
    {
        var ns = await NewNamespaceAsync("imp");
        var token = Server.Authentication.AddUser("alice");
        using var alice = new KubectlSession(Server, token);
        var path = $"/api/v1/namespaces/{ns}/configmaps";

        var asBob = await GetAsAsync(token, path, ("Impersonate-User", "bob"));
        var kubectlAsBob = await alice.RunAsync("get", "configmaps", "-n", ns, "--as=bob");

        asBob.Code.Should().Be(System.Net.HttpStatusCode.Forbidden);
        asBob.Message.Should().Be("users \"bob\" is forbidden: User \"alice\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope");
        kubectlAsBob.ExitCode.Should().NotBe(0, "kubectl's discovery is refused too, as on a cluster");
        kubectlAsBob.Error.Should().Contain("Forbidden");

        await Client.RbacAuthorizationV1.CreateClusterRoleAsync(new V1ClusterRole
        {
            Metadata = new V1ObjectMeta { Name = "impersonate-bob" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["users"], Verbs = ["impersonate"], ResourceNames = ["bob"] }],
        });
        await Client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "alice-impersonates-bob" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = "impersonate-bob" },
            Subjects = [new Rbacv1Subject { Kind = "User", Name = "alice", ApiGroup = "rbac.authorization.k8s.io" }],
        });

        var bobLists = await alice.RunAsync("get", "configmaps", "-n", ns, "--as=bob");
        bobLists.Error.Should().Contain($"configmaps is forbidden: User \"bob\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"{ns}\"",
            "the request now runs as bob, who may not list ConfigMaps");
        (await alice.RunAsync("auth", "can-i", "list", "configmaps", "-n", ns, "--as=bob")).Output.Trim().Should().Be("no");
        (await GetAsAsync(token, path, ("Impersonate-User", "bob"), ("Impersonate-Group", "system:masters"))).Message
            .Should().Be("groups \"system:masters\" is forbidden: User \"alice\" cannot impersonate resource \"groups\" in API group \"\" at the cluster scope");
        (await GetAsAsync(token, path, ("Impersonate-User", "bob"), ("Impersonate-Extra-Scopes", "view"))).Message
            .Should().Be("userextras.authentication.k8s.io \"view\" is forbidden: User \"alice\" cannot impersonate resource \"userextras/scopes\" in API group \"authentication.k8s.io\" at the cluster scope");
        (await GetAsAsync(token, path, ("Impersonate-User", "system:serviceaccount:ipvs-operator-node:ipvs-operator-node"))).Message
            .Should().Be("serviceaccounts \"ipvs-operator-node\" is forbidden: User \"alice\" cannot impersonate resource \"serviceaccounts\" in API group \"\" in the namespace \"ipvs-operator-node\"");
        (await GetAsAsync(token, path, ("Impersonate-User", "carol"))).Code.Should().Be(System.Net.HttpStatusCode.Forbidden, "the grant names bob only");
    }

    [Test]
    public async Task An_impersonated_user_carries_its_uid_groups_and_extra_values()
    {
        using var http = Server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/apis/authentication.k8s.io/v1/selfsubjectreviews")
        {
            Content = new StringContent("""{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Impersonate-User", "system:serviceaccount:team-a:builder");
        request.Headers.Add("Impersonate-Uid", "1234");
        request.Headers.Add("Impersonate-Extra-Scopes", "view");
        request.Headers.Add("Impersonate-Extra-acme.com%2Fproject", "lb");

        using var response = await http.SendAsync(request);
        var whoami = await kubectl.RunAsync("auth", "whoami", "--as=dave", "--as-group=ops", "-o", "json");

        response.StatusCode.Should().Be(System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var user = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!["userInfo"]!;
        user["username"]!.GetValue<string>().Should().Be("system:serviceaccount:team-a:builder");
        user["uid"]!.GetValue<string>().Should().Be("1234");
        user["groups"]!.AsArray().Select(g => g!.GetValue<string>()).Should().Equal("system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated");
        user["extra"]!["scopes"]!.AsArray().Select(v => v!.GetValue<string>()).Should().Equal("view");
        user["extra"]!["acme.com/project"]!.AsArray().Select(v => v!.GetValue<string>()).Should().Equal("lb");
        whoami.ExitCode.Should().Be(0, whoami.Error);
        var dave = JsonNode.Parse(whoami.Output)!["status"]!["userInfo"]!;
        dave["username"]!.GetValue<string>().Should().Be("dave");
        dave["groups"]!.AsArray().Select(g => g!.GetValue<string>()).Should().Equal("ops", "system:authenticated");
    }
}
