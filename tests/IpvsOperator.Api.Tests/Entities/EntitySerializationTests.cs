using IpvsOperator.Entities;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Entities;

public class EntitySerializationTests
{
    [Test]
    public void An_IPPool_reads_from_the_YAML_a_user_writes()
    {
        const string yaml = """
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata:
              name: lan
            spec:
              addresses: [192.0.2.0/28, "2001:db8::/120"]
              autoAssign: false
              priority: 5
              serviceAllocation:
                namespaces: [prod]
                serviceSelector:
                  matchLabels: {tier: edge}
            """;

        var pool = KubernetesYaml.Deserialize<V1Alpha1IPPool>(yaml);

        pool.Metadata.Name.Should().Be("lan");
        pool.Spec.Addresses.Should().Equal("192.0.2.0/28", "2001:db8::/120");
        pool.Spec.AutoAssign.Should().BeFalse();
        pool.Spec.AvoidBuggyIPs.Should().BeFalse();
        pool.Spec.Priority.Should().Be(5);
        pool.Spec.ServiceAllocation!.Namespaces.Should().Equal("prod");
        pool.Spec.ServiceAllocation.ServiceSelector!.MatchLabels["tier"].Should().Be("edge");
    }

    [Test]
    public void An_IPAllocation_round_trips_through_JSON_with_the_field_names_of_the_CRD()
    {
        var allocation = new V1Alpha1IPAllocation
        {
            ApiVersion = WellKnown.ApiVersion,
            Kind = V1Alpha1IPAllocation.KindName,
            Metadata = new V1ObjectMeta { Name = "ipv4-192-0-2-10" },
            Spec = new IPAllocationSpec
            {
                Address = "192.0.2.10",
                Pool = "lan",
                ServiceRef = new ServiceReference { Namespace = "default", Name = "web", Uid = "u-1" },
                SharingKey = "front",
            },
        };

        var json = KubernetesJson.Serialize(allocation);
        var back = KubernetesJson.Deserialize<V1Alpha1IPAllocation>(json);

        json.Should().Contain("\"serviceRef\":{\"namespace\":\"default\",\"name\":\"web\",\"uid\":\"u-1\"}");
        json.Should().Contain("\"sharingKey\":\"front\"");
        back.Spec.ServiceRef.Uid.Should().Be("u-1");
        back.Metadata.Name.Should().Be("ipv4-192-0-2-10");
    }
}
