using IpvsOperator.Entities;
using IpvsOperator.Runtime.Generation;
using IpvsOperator.Runtime.Rbac;
using k8s.Models;

namespace IpvsOperator.Tests.Runtime;

public class RbacGeneratorTests
{
    [EntityRbac(typeof(V1Alpha1IPPool), Verbs = RbacVerb.Read)]
    [EntityRbac(typeof(V1Alpha1IPAllocation), Verbs = RbacVerb.Read | RbacVerb.Create | RbacVerb.Delete)]
    [GenericRbac(Groups = ["ipvsoperator.io"], Resources = ["ippools/status", "ipallocations/status"], Verbs = RbacVerb.Update | RbacVerb.Patch)]
    private sealed class ControllerNeeds;

    [EntityRbac(typeof(V1Alpha1IPPool), Verbs = RbacVerb.Update)]
    [EntityRbac(typeof(V1Service), Verbs = RbacVerb.Read)]
    private sealed class AnotherControllerPart;

    [EntityRbac(typeof(V1Alpha1IPAllocation), Verbs = RbacVerb.Read, Component = "node")]
    [GenericRbac(Groups = ["discovery.k8s.io"], Resources = ["endpointslices"], Verbs = RbacVerb.Read, Component = "node")]
    private sealed class NodeNeeds;

    [EntityRbac(typeof(V1Secret), Verbs = RbacVerb.Create, Namespaced = true)]
    [EntityRbac(typeof(V1Secret), Verbs = RbacVerb.Get | RbacVerb.Update, Namespaced = true, ResourceNames = ["tls"])]
    [EntityRbac(typeof(V1ValidatingWebhookConfiguration), Verbs = RbacVerb.Get | RbacVerb.Update, ResourceNames = ["hooks"])]
    private sealed class OwnObjects;

    [Test]
    public void Declarations_are_merged_into_one_least_privilege_role_per_component()
    {
        var roles = RbacGenerator.Generate([typeof(ControllerNeeds), typeof(AnotherControllerPart), typeof(NodeNeeds)], "ipvs-operator");

        roles.Keys.Should().Equal("controller", "node");
        Describe(roles["controller"].Cluster!).Should().BeEquivalentTo(
        [
            " services: get,list,watch",
            "ipvsoperator.io ipallocations: get,list,watch,create,delete",
            "ipvsoperator.io ippools: get,list,watch,update",
            "ipvsoperator.io ipallocations/status,ippools/status: update,patch",
        ]);
        Describe(roles["node"].Cluster!).Should().BeEquivalentTo(
        [
            "discovery.k8s.io endpointslices: get,list,watch",
            "ipvsoperator.io ipallocations: get,list,watch",
        ]);
        roles["node"].Cluster!.Metadata.Name.Should().Be("ipvs-operator-node");
        roles["controller"].Namespaced.Should().BeNull("nothing was asked for in the component's namespace alone");
    }

    [Test]
    public void What_is_needed_in_the_own_namespace_or_of_own_objects_only_becomes_a_Role_and_resourceNames()
    {
        var roles = RbacGenerator.Generate([typeof(OwnObjects)], "ipvs-operator");

        Describe(roles["controller"].Namespaced!.Rules).Should().BeEquivalentTo(
        [
            " secrets: create",
            " secrets[tls]: get,update",
        ]);
        Describe(roles["controller"].Cluster!.Rules).Should().BeEquivalentTo(["admissionregistration.k8s.io validatingwebhookconfigurations[hooks]: get,update"]);
    }

    [Test]
    public void A_type_that_is_not_an_entity_is_refused()
    {
        var act = () => RbacGenerator.Resource(typeof(string));
        act.Should().Throw<ArgumentException>().WithMessage("*String has no [KubernetesEntity]*");
    }

    private static IEnumerable<string> Describe(V1ClusterRole role) => Describe(role.Rules);

    private static IEnumerable<string> Describe(IEnumerable<V1PolicyRule> rules) =>
        rules.Select(r => $"{string.Join(",", r.ApiGroups)} {string.Join(",", r.Resources)}{(r.ResourceNames is { Count: > 0 } names ? $"[{string.Join(",", names)}]" : string.Empty)}: {string.Join(",", r.Verbs)}");
}
