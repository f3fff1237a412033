using IpvsOperator.Entities;
using IpvsOperator.Migration;
using k8s.Models;

namespace IpvsOperator.Tests.Migration;

/// <summary>Which addresses the migration claims for MetalLB's Services, and what it reports where a claim cannot keep one.</summary>
public class ServiceClaimsTests
{
    private static MigrationResult WithPool(string name, string addresses)
    {
        var result = new MigrationResult();
        result.Pools.Add(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = name }, Spec = new IPPoolSpec { Addresses = [addresses] } });
        return result;
    }

    private static V1Service Service(string name, string? address, string? loadBalancerClass = null, Dictionary<string, string>? annotations = null, int port = 80) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "apps", Uid = name + "-uid", Annotations = annotations },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", LoadBalancerClass = loadBalancerClass, Ports = [new V1ServicePort { Port = port }] },
        Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = address is null ? null : [new V1LoadBalancerIngress { Ip = address }] } },
    };

    [Test]
    public void A_claim_is_the_one_the_controller_makes_named_after_the_address_in_the_pool_holding_it()
    {
        var result = WithPool("web", "198.51.100.0/24");

        ServiceClaims.Add(result, [Service("a", "198.51.100.7"), Service("pending", null), Service("ours", "198.51.100.9", WellKnown.LoadBalancerClass)], metallbClass: null);

        var claim = result.Claims.Should().ContainSingle().Subject;
        claim.Metadata.Name.Should().Be("ipv4-198-51-100-7");
        (claim.Spec.Address, claim.Spec.Pool, claim.Spec.ServiceRef.Namespace, claim.Spec.ServiceRef.Name, claim.Spec.ServiceRef.Uid).Should().Be(("198.51.100.7", "web", "apps", "a", "a-uid"));
        claim.Spec.SharingKey.Should().BeNull();
        claim.Metadata.Labels[ServiceClaims.MigratedLabel].Should().Be("metallb");
        result.ChangesBehaviour.Should().BeFalse();
    }

    [Test]
    public void Services_sharing_under_one_key_share_one_claim_and_without_one_only_the_first_keeps_it()
    {
        var result = WithPool("web", "198.51.100.0/24");
        var shared = new Dictionary<string, string> { [WellKnown.Annotations.MetalLB.DeprecatedAllowSharedIP] = "k" };

        ServiceClaims.Add(result, [Service("http", "198.51.100.1", annotations: shared), Service("https", "198.51.100.1", annotations: shared, port: 443),
            Service("x", "198.51.100.2"), Service("y", "198.51.100.2")], metallbClass: null);

        var claim = result.Claims.Single(c => c.Spec.Address == "198.51.100.1");
        claim.Spec.SharingKey.Should().Be("k");
        claim.Spec.SharedWith!.Select(s => s.Name).Should().Equal("https");
        result.Claims.Single(c => c.Spec.Address == "198.51.100.2").Spec.SharedWith.Should().BeNull();
        result.Findings.Should().ContainSingle(f => f.Kind == FindingKind.Change).Which.ToString().Should()
            .Contain("apps/x, apps/y").And.Contain("198.51.100.2 without one sharing key");
    }

    [Test]
    public void An_address_in_no_pool_and_a_Service_of_MetalLBs_class_are_changes_that_name_them()
    {
        var result = WithPool("web", "198.51.100.0/24");

        ServiceClaims.Add(result, [Service("outside", "203.0.113.5"), Service("classed", "198.51.100.3", "metallb.io/metallb"), Service("other-lb", "198.51.100.4", "example.com/lb")],
            metallbClass: "metallb.io/metallb");

        result.Claims.Should().BeEmpty();
        result.Findings.Select(f => f.ToString()).Should().SatisfyRespectively(
            f => f.Should().StartWith("change: Service apps/classed: spec.loadBalancerClass: 'metallb.io/metallb' is MetalLB's class and cannot be changed"),
            f => f.Should().StartWith("change: Service apps/outside: status.loadBalancer.ingress: 203.0.113.5 lies in no IPPool of this migration").And.Contain("renumbered"));
    }
}
