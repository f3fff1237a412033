using ArchUnitNET.Fluent.Syntax.Elements.Types;
using ArchUnitNET.NUnit;
using static ArchUnitNET.Fluent.ArchRuleDefinition;

namespace IpvsOperator.Tests.Architecture;

/// <summary>
/// The dependency rules of docs/architecture.md, one test per "never", checked on the compiled
/// operator (signatures and method bodies alike). A part is a namespace under <c>IpvsOperator.</c>
/// with everything below it.
/// </summary>
public sealed class LayerRuleTests
{
    private static readonly ArchUnitNET.Domain.Architecture Operator = DependencyTable.Operator;

    private static GivenTypesConjunctionWithDescription Part(string name) =>
        Types().That().ResideInNamespaceMatching($@"^IpvsOperator\.{name}(\..+)?$").As(name);

    private static GivenTypesConjunctionWithDescription Parts(params string[] names) =>
        Types().That().ResideInNamespaceMatching($@"^IpvsOperator\.({string.Join('|', names)})(\..+)?$").As(string.Join(", ", names));

    private static GivenTypesConjunctionWithDescription Kubernetes() =>
        Types(true).That().ResideInNamespaceMatching(@"^k8s(\..+)?$").As("the Kubernetes client (k8s)");

    private static readonly string[] AllParts =
        ["Addressing", "Selection", "Ipam", "Dataplane", "Entities", "Readers", "AllocationReaders", "Runtime", "Controllers", "Webhooks", "Node", "LocalCluster", "Migration", "Commands"];

    private static string[] Except(params string[] allowed) => [.. AllParts.Where(p => !allowed.Contains(p))];

    [Test]
    public void The_address_vocabulary_and_label_selection_depend_on_no_other_part() =>
        Types().That().Are(Parts("Addressing", "Selection")).Should().NotDependOnAny(Parts(Except("Addressing", "Selection"))).AndShould().NotDependOnAny(Kubernetes())
            .Because("addresses, families, ranges and label selectors are shared by the allocator, the dataplane and the node agent, and belong to none of them")
            .Check(Operator);

    [Test]
    public void The_allocator_knows_no_Kubernetes_type_and_no_runtime() =>
        Types().That().Are(Part("Ipam")).Should().NotDependOnAny(Parts(Except("Ipam", "Addressing", "Selection"))).AndShould().NotDependOnAny(Kubernetes())
            .Because("allocation is pure address math, tested without a cluster (MetalLB keeps its allocator apart the same way)")
            .Check(Operator);

    [Test]
    public void The_dataplane_knows_no_Kubernetes_type_and_no_runtime() =>
        Types().That().Are(Part("Dataplane")).Should().NotDependOnAny(Parts(Except("Dataplane", "Addressing"))).AndShould().NotDependOnAny(Kubernetes())
            .Because("kernel adapters speak addresses and IPVS, and are held to their in-memory twins by contract tests")
            .Check(Operator);

    [Test]
    public void The_entities_are_data_described_by_runtime_attributes_only() =>
        Types().That().Are(Part("Entities")).Should().NotDependOnAny(Parts(Except("Entities", "Runtime")))
            .Because("the CRDs are generated from the entity classes; logic on them lives in the readers and the parts that use them")
            .Check(Operator);

    [Test]
    public void The_readers_of_objects_use_only_entities_and_addresses() =>
        Types().That().Are(Part("Readers")).Should().NotDependOnAny(Parts(Except("Readers", "Entities", "Addressing", "Selection", "Runtime")))
            .AndShould().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^IpvsOperator\.Runtime(?!\.Entities|\.Text)(\..+)?$").As("Runtime beyond the entity base classes and the text formats"))
            .Because("controllers, webhooks and the node agent read pools' announcements, health checks, peers and claims the same way, through them; the agent holds them, so they never reach the allocator")
            .Check(Operator);

    [Test]
    public void The_readers_of_allocator_inputs_use_only_entities_the_readers_and_ipam() =>
        Types().That().Are(Part("AllocationReaders")).Should().NotDependOnAny(Parts(Except("AllocationReaders", "Readers", "Entities", "Ipam", "Addressing", "Selection", "Runtime")))
            .AndShould().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^IpvsOperator\.Runtime(?!\.Entities|\.Text)(\..+)?$").As("Runtime beyond the entity base classes and the text formats"))
            .Because("the controller and the webhooks turn IPPools and Services into the allocator's pools and requests the same way, through them")
            .Check(Operator);

    [Test]
    public void The_migration_translates_without_reaching_a_cluster() =>
        Types().That().Are(Part("Migration")).Should().NotDependOnAny(Parts(Except("Migration", "Readers", "AllocationReaders", "Entities", "Ipam", "Addressing", "Selection", "Runtime")))
            .AndShould().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^IpvsOperator\.Runtime(?!\.Entities|\.Text)(\..+)?$").As("Runtime beyond the entity base classes and the text formats"))
            .Because("a MetalLB configuration becomes objects and findings from text alone, and is checked by the readers the webhooks use; the verb reads the files")
            .Check(Operator);

    [Test]
    public void The_runtime_knows_none_of_the_operator() =>
        Types().That().Are(Part("Runtime")).Should().NotDependOnAny(Parts(Except("Runtime")))
            .Because("it is the KubeOps-shaped runtime any operator could use")
            .Check(Operator);

    [Test]
    public void Controllers_never_reach_the_kernel_nor_the_other_components() =>
        Types().That().Are(Part("Controllers")).Should().NotDependOnAny(Parts("Dataplane", "Node", "Webhooks", "Commands", "LocalCluster"))
            .Because("the controller never touches the kernel; it meets the node agent only through the API server")
            .Check(Operator);

    [Test]
    public void Webhooks_depend_on_neither_the_controllers_nor_the_node_agent() =>
        Types().That().Are(Part("Webhooks")).Should().NotDependOnAny(Parts("Controllers", "Dataplane", "Node", "Commands", "LocalCluster"))
            .Because("validators read pools and Services through the readers, as the controllers do")
            .Check(Operator);

    [Test]
    public void The_node_agent_never_allocates_and_depends_on_no_other_component() =>
        Types().That().Are(Part("Node")).Should().NotDependOnAny(Parts("Ipam", "AllocationReaders", "Controllers", "Webhooks", "Commands", "LocalCluster"))
            .Because("the node agent serves the claims the controller made; it never decides who gets an address")
            .Check(Operator);

    [Test]
    public void Only_the_command_layer_wires_processes()
    {
        Types().That().Are(Parts(Except("Commands"))).Should().NotDependOnAny(Part("Commands"))
            .Because("what a process runs (a controller, a node agent, local mode) is decided in one place, the verbs and their hosts")
            .Check(Operator);
        Types().That().Are(Parts(Except("Commands", "Runtime"))).Should().NotDependOnAny(Types().That().HaveFullName("IpvsOperator.Runtime.Hosting.HealthServer").Or()
                .HaveFullName("IpvsOperator.Runtime.Webhooks.WebhookServer").As("the servers of a process"))
            .Because("the parts are served by a host; they do not start servers of their own")
            .Check(Operator);
    }

    [Test]
    public void LocalCluster_is_used_only_by_the_local_verb() =>
        Types().That().Are(Parts(Except("LocalCluster"))).And().DoNotHaveFullNameMatching(@"^IpvsOperator\.Commands\.(LocalMode|LocalCommand)\b")
            .Should().NotDependOnAny(Part("LocalCluster"))
            .Because("the operator must run against a real API server; LocalCluster stands in for one only in local mode and tests")
            .Check(Operator);

    [Test]
    public void LocalCluster_shares_no_code_with_what_it_stands_in_front_of() =>
        Types().That().Are(Part("LocalCluster")).Should().NotDependOnAny(Parts(Except("LocalCluster")))
            .Because("its own selectors and validation: a bug in the operator's cannot hide behind the same bug in the server")
            .Check(Operator);
}
