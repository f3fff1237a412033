using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;

namespace IpvsOperator.Tests.Commands;

/// <summary>What local mode prints when IPVS changes: the virtual services that changed, not the whole table again.</summary>
public class IpvsTableChangesTests
{
    private static readonly VirtualServiceKey Web = new(IPAddressValue.Parse("192.0.2.1"), IpvsProtocol.TCP, 80);
    private static readonly VirtualServiceKey Shop = new(IPAddressValue.Parse("192.0.2.2"), IpvsProtocol.TCP, 80);
    private static readonly VirtualServiceKey Blog = new(IPAddressValue.Parse("2001:db8::3"), IpvsProtocol.TCP, 443);

    [Test]
    public void After_the_first_table_only_added_changed_and_removed_virtual_services_are_shown()
    {
        var ipvs = new InMemoryIpvs();
        var changes = new IpvsTableChanges();
        Serve(ipvs, Web, "10.244.0.10", "10.244.0.11");
        Serve(ipvs, Shop, "10.244.0.10");

        var first = changes.Next(IpvsTable.Format(ipvs));
        first.Should().Contain("TCP  192.0.2.1:80 rr").And.Contain("TCP  192.0.2.2:80 rr").And.Contain("Prot LocalAddress:Port");

        Serve(ipvs, Blog, "fd00:10:244::10");
        ipvs.AddDestination(Shop, new Destination(IPAddressValue.Parse("10.244.0.11"), 8080));
        var second = changes.Next(IpvsTable.Format(ipvs));
        second.Should().Contain("TCP  [2001:db8::3]:443 rr").And.Contain("[fd00:10:244::10]:8080")
            .And.Contain("TCP  192.0.2.2:80 rr\n  -> 10.244.0.10:8080").And.Contain("10.244.0.11:8080");
        second.Should().NotContain("192.0.2.1:80", "an unchanged virtual service is not printed again");

        ipvs.DeleteService(Blog);
        changes.Next(IpvsTable.Format(ipvs)).Should().Be("TCP  [2001:db8::3]:443 removed\n");
        changes.Next(IpvsTable.Format(ipvs)).Should().BeNull("nothing changed");
    }

    private static void Serve(InMemoryIpvs ipvs, VirtualServiceKey key, params string[] pods)
    {
        ipvs.AddService(new VirtualService(key));
        foreach (var pod in pods)
        {
            ipvs.AddDestination(key, new Destination(IPAddressValue.Parse(pod), 8080));
        }
    }
}
