using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>LocalCluster's RBAC, as kube-apiserver's: nothing without a role, roles by binding, Roles by namespace, resourceNames by object.</summary>
public class RbacTests : LocalClusterFixture
{
    private static V1PolicyRule Rule(string resource, string[] verbs, string[]? names = null, string group = "") =>
        new() { ApiGroups = [group], Resources = [resource], Verbs = verbs, ResourceNames = names };

    private Task<IKubernetes> ServiceAccountAsync(string ns, string name) =>
        Task.FromResult(Server.CreateClient(Server.Authentication.AddServiceAccount(ns, name)));

    [Test]
    public async Task A_ServiceAccount_may_do_only_what_a_bound_role_grants()
    {
        var ns = await NewNamespaceAsync();
        var other = await NewNamespaceAsync();
        using var client = await ServiceAccountAsync(ns, "reader");

        var denied = await ApiErrors.Of(() => client.CoreV1.ListServiceForAllNamespacesAsync());
        denied.Code.Should().Be(System.Net.HttpStatusCode.Forbidden);
        denied.Message.Should().Be($"services is forbidden: User \"system:serviceaccount:{ns}:reader\" cannot list resource \"services\" in API group \"\" at the cluster scope");

        await Client.RbacAuthorizationV1.CreateClusterRoleAsync(new V1ClusterRole { Metadata = new V1ObjectMeta { Name = $"{ns}-read" }, Rules = [Rule("services", ["get", "list"])] });
        await Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "read" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = $"{ns}-read" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "reader", NamespaceProperty = ns }],
        }, ns);

        (await client.CoreV1.ListNamespacedServiceAsync(ns)).Items.Should().BeEmpty("a RoleBinding grants a ClusterRole's rules in its namespace");
        (await ApiErrors.Of(() => client.CoreV1.ListNamespacedServiceAsync(other))).Code.Should().Be(System.Net.HttpStatusCode.Forbidden, "and nowhere else");
        (await ApiErrors.Of(() => client.CoreV1.ListServiceForAllNamespacesAsync())).Code.Should().Be(System.Net.HttpStatusCode.Forbidden, "nor cluster-wide");
        (await ApiErrors.Of(() => client.CoreV1.CreateNamespacedServiceAsync(LoadBalancer("x", 80), ns))).Code.Should().Be(System.Net.HttpStatusCode.Forbidden, "only the verbs listed");
        (await ApiErrors.Of(() => client.CoreV1.PatchNamespacedServiceStatusAsync(new V1Patch("{}", V1Patch.PatchType.MergePatch), "x", ns)))
            .Message.Should().Contain("cannot patch resource \"services/status\"", "a subresource is a resource of its own");
    }

    [Test]
    public async Task A_rule_with_resourceNames_covers_those_objects_only_and_never_create()
    {
        var ns = await NewNamespaceAsync();
        using var client = await ServiceAccountAsync(ns, "tls");
        await Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "own-secret" },
            Rules = [Rule("secrets", ["get", "update", "create"], ["mine"])],
        }, ns);
        await Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "own-secret" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "own-secret" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "tls", NamespaceProperty = ns }],
        }, ns);
        foreach (var name in new[] { "mine", "theirs" })
        {
            await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = name } }, ns);
        }

        (await client.CoreV1.ReadNamespacedSecretAsync("mine", ns)).Metadata.Name.Should().Be("mine");
        (await ApiErrors.Of(() => client.CoreV1.ReadNamespacedSecretAsync("theirs", ns))).Code.Should().Be(System.Net.HttpStatusCode.Forbidden);
        (await ApiErrors.Of(() => client.CoreV1.ListNamespacedSecretAsync(ns))).Code.Should().Be(System.Net.HttpStatusCode.Forbidden, "a named rule does not cover a list");
        (await ApiErrors.Of(() => client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "mine2" } }, ns)))
            .Code.Should().Be(System.Net.HttpStatusCode.Forbidden, "nor a create: the name is not known when it is authorized");
    }
}
