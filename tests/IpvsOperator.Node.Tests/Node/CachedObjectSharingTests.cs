using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Runtime.Client;
using k8s.Models;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// The agent's caches hold one copy of the texts its objects repeat, and nothing else changes:
/// every object reads as it came, the pool stays bounded whatever the objects say, and an object
/// of any shape is walked without failing.
/// </summary>
public class CachedObjectSharingTests
{
    [OneTimeSetUp]
    public void RegisterKinds() => OperatorJson.Register();

    private static V1EndpointSlice Decoded(int i) => ApiJson.Deserialize<V1EndpointSlice>($$$"""
        {"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice",
         "metadata":{"name":"svc-{{{i}}}-abcde","namespace":"shop","labels":{"kubernetes.io/service-name":"svc-{{{i}}}"},"finalizers":["example.com/keep"]},
         "addressType":"IPv4","ports":[{"name":"http","protocol":"TCP","port":8080}],
         "endpoints":[{"addresses":["10.0.{{{i}}}.1"],"nodeName":"node-b","zone":"rack-1","conditions":{"ready":true},"targetRef":{"kind":"Pod","namespace":"shop","name":"web-{{{i}}}"} }]}
        """);

    [Test]
    public void Objects_decoded_apart_share_their_repeated_texts_and_read_as_they_came()
    {
        var sharing = new CachedObjectSharing(new SharedStrings());
        var (first, second) = (Decoded(1), Decoded(2));
        var (firstJson, secondJson) = (ApiJson.Serialize(first), ApiJson.Serialize(second));
        first.Endpoints[0].NodeName.Should().NotBeSameAs(second.Endpoints[0].NodeName, "each decode makes its own copy");

        sharing.Share(first);
        sharing.Share(second);

        ApiJson.Serialize(first).Should().Be(firstJson);
        ApiJson.Serialize(second).Should().Be(secondJson);
        second.Endpoints[0].NodeName.Should().BeSameAs(first.Endpoints[0].NodeName);
        second.Metadata.NamespaceProperty.Should().BeSameAs(first.Metadata.NamespaceProperty);
        second.Ports[0].Protocol.Should().BeSameAs(first.Ports[0].Protocol);
        second.Metadata.Finalizers[0].Should().BeSameAs(first.Metadata.Finalizers[0]);
        second.Endpoints[0].TargetRef.NamespaceProperty.Should().BeSameAs(first.Metadata.NamespaceProperty);
    }

    [Test]
    public void Services_and_claims_share_their_repeated_texts_too()
    {
        var sharing = new CachedObjectSharing(new SharedStrings());
        V1Service Service(string name) => ApiJson.Deserialize<V1Service>($$$"""
            {"metadata":{"name":"{{{name}}}","namespace":"shop"},"spec":{"type":"LoadBalancer","externalTrafficPolicy":"Cluster","ipFamilies":["IPv4"],
             "ports":[{"name":"http","protocol":"TCP","port":80}]}}
            """);
        V1Alpha1IPAllocation Claim(string name) => ApiJson.Deserialize<V1Alpha1IPAllocation>($$$"""
            {"metadata":{"name":"{{{name}}}"},"spec":{"address":"{{{name}}}","pool":"public","serviceRef":{"namespace":"shop","name":"web","uid":"u"} } }
            """);
        var services = new[] { Service("a"), Service("b") };
        var claims = new[] { Claim("198.51.100.1"), Claim("198.51.100.2") };
        var json = services.Select(ApiJson.Serialize).Concat(claims.Select(ApiJson.Serialize)).ToList();

        foreach (var service in services)
        {
            sharing.Share(service);
        }
        foreach (var claim in claims)
        {
            sharing.Share(claim);
        }

        services.Select(ApiJson.Serialize).Concat(claims.Select(ApiJson.Serialize)).Should().Equal(json);
        services[1].Spec.Type.Should().BeSameAs(services[0].Spec.Type);
        services[1].Spec.IpFamilies[0].Should().BeSameAs(services[0].Spec.IpFamilies[0]);
        services[1].Spec.Ports[0].Name.Should().BeSameAs(services[0].Spec.Ports[0].Name);
        claims[1].Spec.Pool.Should().BeSameAs(claims[0].Spec.Pool);
        claims[1].Spec.ServiceRef.Namespace.Should().BeSameAs(services[0].Metadata.NamespaceProperty);
    }

    [Test]
    public void The_pool_stays_bounded_whatever_the_objects_say()
    {
        var strings = new SharedStrings();
        for (var i = 0; i < SharedStrings.Capacity + 500; i++)
        {
            strings.Share($"node-{i}");
        }
        var late = new string('x', 3);
        var tooLong = new string('y', SharedStrings.MaxLength + 1);

        strings.Share(late).Should().BeSameAs(late, "past the capacity a text keeps its own copy");
        strings.Share(new string('x', 3)).Should().NotBeSameAs(late, "nor is it pooled for the next one");
        strings.Share(tooLong).Should().BeSameAs(tooLong);
        strings.Count.Should().Be(SharedStrings.Capacity);
        strings.Share(new string("node-7".ToCharArray())).Should().Be("node-7");
    }

    [Test]
    public void An_object_of_any_shape_is_walked_without_failing()
    {
        var sharing = new CachedObjectSharing(new SharedStrings());
        var walk = () =>
        {
            sharing.Share(new V1EndpointSlice { Endpoints = [null!, new V1Endpoint()], Ports = [null!] });
            sharing.Share(new V1Service { Spec = new V1ServiceSpec { Ports = [null!] } });
            sharing.Share(new V1Service());
            sharing.Share(new V1Alpha1IPAllocation { Spec = new IPAllocationSpec { ServiceRef = null!, SharedWith = [null!] } });
            sharing.Share(new V1Alpha1IPAllocation());
        };

        walk.Should().NotThrow();
    }
}
