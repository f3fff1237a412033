using System.Net;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// ValidatingAdmissionPolicies and their bindings, evaluated as kube-apiserver evaluates them:
/// through kubectl and KubernetesClient, with the requester's identity in <c>request.userInfo</c>.
/// </summary>
public class AdmissionPolicyTests : LocalClusterFixture
{
    private KubectlSession kubectl = null!;

    [OneTimeSetUp]
    public void OpenKubectl() => kubectl = new KubectlSession(Server);

    [OneTimeTearDown]
    public void CloseKubectl() => kubectl.Dispose();

    /// <summary>A policy on ConfigMaps of <paramref name="ns"/> with one validation, and its binding.</summary>
    private async Task InstallAsync(string name, string ns, string validation, string actions = "[Deny]", string failurePolicy = "Fail", string extra = "")
    {
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        var applied = await kubectl.RunWithInputAsync($$"""
            apiVersion: admissionregistration.k8s.io/v1
            kind: ValidatingAdmissionPolicy
            metadata: {name: {{name}}}
            spec:
              failurePolicy: {{failurePolicy}}
              matchConstraints:
                resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}]
              matchConditions: [{name: in-namespace, expression: "request.namespace == '{{ns}}'"}]
            {{extra}}
              validations: [{{validation}}]
            ---
            apiVersion: admissionregistration.k8s.io/v1
            kind: ValidatingAdmissionPolicyBinding
            metadata: {name: {{name}}-binding}
            spec: {policyName: {{name}}, validationActions: {{actions}}}
            """, "apply", "-f", "-");
        applied.ExitCode.Should().Be(0, applied.Error);
    }

    private static V1ConfigMap Map(string name, string value) => new() { Metadata = new V1ObjectMeta { Name = name }, Data = new Dictionary<string, string> { ["size"] = value } };

    [Test]
    public async Task A_failed_validation_is_denied_with_its_message_and_the_code_of_its_reason()
    {
        await InstallAsync("small-maps", "vap-deny", """{expression: "object.data.size.size() <= 3", messageExpression: "'size ' + object.data.size + ' is too long'", reason: Forbidden}""");

        var denied = await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(Map("big", "12345"), "vap-deny"));

        denied.Code.Should().Be(HttpStatusCode.Forbidden);
        denied.Message.Should().Be("ValidatingAdmissionPolicy 'small-maps' with binding 'small-maps-binding' denied request: size 12345 is too long");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(Map("small", "123"), "vap-deny");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(Map("elsewhere", "12345"), "default"); // the match condition leaves other namespaces alone
    }

    [Test]
    public async Task Without_a_message_the_expression_is_named_and_the_default_reason_is_422_Invalid()
    {
        await InstallAsync("no-message", "vap-default", """{expression: "object.data.size != 'x'"}""");

        var denied = await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(Map("x", "x"), "vap-default"));

        denied.Code.Should().Be((HttpStatusCode)422);
        denied.Reason.Should().Be("Invalid");
        denied.Message.Should().EndWith("denied request: failed expression: object.data.size != 'x'");
    }

    [Test]
    public async Task A_Warn_binding_admits_with_a_warning()
    {
        await InstallAsync("warned", "vap-warn", """{expression: "false", message: "this is only a warning"}""", actions: "[Warn]");

        var created = await kubectl.RunAsync("create", "configmap", "anything", "-n", "vap-warn", "--from-literal=size=1");

        created.ExitCode.Should().Be(0, created.Error);
        created.Error.Should().Contain("Warning: Validation failed for ValidatingAdmissionPolicy 'warned' with binding 'warned-binding': this is only a warning");
    }

    [Test]
    public async Task Variables_and_the_requesters_identity_are_visible_to_the_validations()
    {
        await InstallAsync("owned-by-node", "vap-user", """{expression: "object.metadata.name == variables.node", messageExpression: "'only ' + variables.node"}""",
            extra: """
                  variables: [{name: node, expression: "'authentication.kubernetes.io/node-name' in request.userInfo.extra ? request.userInfo.extra['authentication.kubernetes.io/node-name'][0] : 'none'"}]
                """);
        var token = Server.Authentication.AddServiceAccount("vap-user", "agent", "node-7");
        await Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "maps" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["configmaps"], Verbs = ["create"] }],
        }, "vap-user");
        await Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "maps" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "maps" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "agent", NamespaceProperty = "vap-user" }],
        }, "vap-user");
        using var agent = Server.CreateClient(token);

        await agent.CoreV1.CreateNamespacedConfigMapAsync(Map("node-7", "1"), "vap-user");
        (await ApiErrors.Of(() => agent.CoreV1.CreateNamespacedConfigMapAsync(Map("node-8", "1"), "vap-user"))).Message.Should().EndWith("denied request: only node-7");
        (await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(Map("node-7b", "1"), "vap-user"))).Message.Should().EndWith("only none", "the administrator's token names no node");
    }

    [Test]
    public async Task An_expression_LocalCluster_cannot_evaluate_refuses_under_failure_policy_Fail_and_is_skipped_under_Ignore()
    {
        await InstallAsync("unsupported", "vap-fail", """{expression: "object.metadata.name.lowerAscii() == object.metadata.name"}""");
        await InstallAsync("unsupported-ignored", "vap-ignore", """{expression: "object.metadata.name.lowerAscii() == object.metadata.name"}""", failurePolicy: "Ignore");

        var refused = await ApiErrors.Of(() => Client.CoreV1.CreateNamespacedConfigMapAsync(Map("a", "1"), "vap-fail"));

        refused.Message.Should().Contain("denied request: expression could not be evaluated: undeclared reference to 'lowerAscii'");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(Map("a", "1"), "vap-ignore");
    }
}
