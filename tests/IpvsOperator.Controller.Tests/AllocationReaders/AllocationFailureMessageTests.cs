using IpvsOperator.AllocationReaders;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using k8s.Models;

namespace IpvsOperator.Tests.AllocationReaders;

/// <summary>
/// The words a Service's AllocationFailed Event carries: the allocator's account, and the remedy in
/// the annotations users write. Each remedy, followed, gets the Service its address.
/// </summary>
public class AllocationFailureMessageTests
{
    private Allocator allocator = null!;

    [SetUp]
    public void Pool()
    {
        allocator = new Allocator();
        allocator.SetPools([Ipam.Pool.Parse("a", ["192.0.2.0/30"]).Pool!]).Should().BeEmpty();
    }

    [Test]
    public void A_Service_asking_for_a_shared_address_without_a_key_is_told_the_annotation_and_the_key()
    {
        Allocate(Service("default", "web", 80, "192.0.2.1", (WellKnown.Annotations.AllowSharedIP, "k1"))).Failure.Should().BeNull();
        var plain = Service("default", "y", 443, "192.0.2.1");

        Message(plain).Should().Be("address 192.0.2.1 is shared by Service default/web under key 'k1'; set the annotation ipvsoperator.io/allow-shared-ip: k1 to share it");

        plain.Metadata.Annotations[WellKnown.Annotations.AllowSharedIP] = "k1";
        Allocate(plain).Failure.Should().BeNull("the remedy followed, the Service shares the address");
    }

    [Test]
    public void A_Service_of_another_namespace_is_told_what_to_annotate_on_both_Services()
    {
        var web = Service("team-a", "web", 80, null, (WellKnown.Annotations.AllowSharedIP, "k"));
        Allocate(web).Failure.Should().BeNull();
        var intruder = Service("team-b", "intruder", 443, "192.0.2.0", (WellKnown.Annotations.AllowSharedIP, "k"));

        Message(intruder).Should().Be("address 192.0.2.0 is shared under key 'k' by Service team-a/web of another namespace; sharing across namespaces needs both Services to allow it: "
            + "annotate Service team-b/intruder with ipvsoperator.io/allow-shared-ip-namespaces: team-a and Service team-a/web with ipvsoperator.io/allow-shared-ip-namespaces: team-b");

        intruder.Metadata.Annotations[WellKnown.Annotations.AllowSharedIPNamespaces] = "team-a";
        web.Metadata.Annotations[WellKnown.Annotations.AllowSharedIPNamespaces] = "team-b";
        Allocate(web).Failure.Should().BeNull();
        Allocate(intruder).Failure.Should().BeNull("the remedy followed on both sides, the Services share the address");
    }

    [Test]
    public void Other_failures_read_as_the_allocator_says_them()
    {
        Allocate(Service("default", "web", 80, "192.0.2.2")).Failure.Should().BeNull();
        var taken = Allocate(Service("default", "api", 80, "192.0.2.2")).Failure!;

        AllocationFailureMessage.Of(taken, new ServiceKey("default", "api")).Should().Be(taken.Message).And.Contain("does not allow sharing");
    }

    private string Message(V1Service service) =>
        AllocationFailureMessage.Of(Allocate(service).Failure!, ServiceRequestReader.KeyOf(service));

    private AllocationResult Allocate(V1Service service)
    {
        var (request, error) = ServiceRequestReader.Read(service, new Dictionary<string, string>());
        error.Should().BeNull();
        return allocator.Allocate(request!);
    }

    private static V1Service Service(string ns, string name, int port, string? address, params (string Name, string Value)[] annotations)
    {
        var all = annotations.ToDictionary(a => a.Name, a => a.Value);
        if (address is not null)
        {
            all[WellKnown.Annotations.LoadBalancerIPs] = address;
        }
        return new V1Service
        {
            Metadata = new V1ObjectMeta { NamespaceProperty = ns, Name = name, Annotations = all },
            Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Protocol = "TCP", Port = port }] },
        };
    }
}
