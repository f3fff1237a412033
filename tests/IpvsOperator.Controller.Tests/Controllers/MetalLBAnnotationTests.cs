using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Tests.Support;
using MetalLB = IpvsOperator.Entities.WellKnown.Annotations.MetalLB;

namespace IpvsOperator.Tests.Controllers;

/// <summary>A Service moved over from MetalLB keeps asking for what it asked for, in MetalLB's words, and is told ours.</summary>
public class MetalLBAnnotationTests : ControllerFixture
{
    [Test]
    public async Task MetalLB_annotations_in_both_spellings_ask_for_an_address_a_pool_and_sharing_and_an_Event_names_ours()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("mlb-a", "198.51.100.200/30");
        await CreatePoolAsync("mlb-b", "198.51.100.204/30");
        StartController();

        await CreateServiceAsync(ns, "by-ip", new Dictionary<string, string> { [MetalLB.LoadBalancerIPs] = "198.51.100.202" });
        await CreateServiceAsync(ns, "by-old-ip", new Dictionary<string, string> { [MetalLB.DeprecatedLoadBalancerIPs] = "198.51.100.201" });
        await CreateServiceAsync(ns, "by-pool", new Dictionary<string, string> { [MetalLB.DeprecatedAddressPool] = "mlb-b" });
        var sharing = new Dictionary<string, string> { [MetalLB.DeprecatedAllowSharedIP] = "front", [MetalLB.AddressPool] = "mlb-b" };
        await CreateServiceAsync(ns, "share-http", sharing, port: 80);
        var shared = await WaitForAddressAsync(ns, "share-http");
        await CreateServiceAsync(ns, "share-https", new Dictionary<string, string> { [MetalLB.AllowSharedIP] = "front", [MetalLB.AddressPool] = "mlb-b" }, port: 443);

        (await WaitForAddressAsync(ns, "by-ip")).Should().Be("198.51.100.202");
        (await WaitForAddressAsync(ns, "by-old-ip")).Should().Be("198.51.100.201");
        (await WaitForAddressAsync(ns, "by-pool")).Should().StartWith("198.51.100.20").And.NotBe("198.51.100.200").And.NotBe("198.51.100.201");
        shared.Should().StartWith("198.51.100.20");
        (await WaitForAddressAsync(ns, "share-https")).Should().Be(shared, "metallb.universe.tf/ and metallb.io/ allow-shared-ip with one key share, as in MetalLB");
        (await Allocations.GetAsync(null, NameOf(shared)))!.Spec.SharingKey.Should().Be("front");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "by-old-ip", WellKnown.Events.MetalLBAnnotation)).Count == 1, "the Service is told our annotation");
        (await EventsAsync(ns, "by-old-ip", WellKnown.Events.MetalLBAnnotation))[0].Message.Should()
            .Contain(MetalLB.DeprecatedLoadBalancerIPs).And.Contain($"write {WellKnown.Annotations.LoadBalancerIPs} instead");
    }

    [Test]
    public async Task Our_annotation_wins_over_MetalLBs_and_the_Event_says_MetalLBs_is_ignored()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("mlb-both", "198.51.100.208/30");
        StartController();

        await CreateServiceAsync(ns, "both", new Dictionary<string, string>
        {
            [WellKnown.Annotations.LoadBalancerIPs] = "198.51.100.209",
            [MetalLB.LoadBalancerIPs] = "198.51.100.210",
            [MetalLB.DeprecatedLoadBalancerIPs] = "198.51.100.211",
        });

        (await WaitForAddressAsync(ns, "both")).Should().Be("198.51.100.209");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "both", WellKnown.Events.MetalLBAnnotation)).Count == 2, "each MetalLB annotation is named");
        (await EventsAsync(ns, "both", WellKnown.Events.MetalLBAnnotation)).Select(e => e.Message).Should().AllSatisfy(m => m.Should().Contain("is ignored").And.Contain(WellKnown.Annotations.LoadBalancerIPs + " is set too and wins"));
    }

    [Test]
    public async Task A_garbled_MetalLB_annotation_is_refused_naming_MetalLBs_key_and_costs_only_its_Service()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("mlb-garbled", "198.51.100.212/30");
        StartController();

        await CreateServiceAsync(ns, "garbled", new Dictionary<string, string> { [MetalLB.LoadBalancerIPs] = "10.0.0.1,not-an-ip" });
        await CreateServiceAsync(ns, "empty-key", new Dictionary<string, string> { [MetalLB.DeprecatedAllowSharedIP] = " " });
        await CreateServiceAsync(ns, "fine");

        (await WaitForAddressAsync(ns, "fine")).Should().StartWith("198.51.100.21");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "garbled", WellKnown.Events.AllocationFailed)).Count > 0, "the garbled annotation is explained");
        (await EventsAsync(ns, "garbled", WellKnown.Events.AllocationFailed))[0].Message.Should().Contain($"annotation {MetalLB.LoadBalancerIPs}: 'not-an-ip' is not an IP address");
        await Eventually.TrueAsync(async () => (await EventsAsync(ns, "empty-key", WellKnown.Events.AllocationFailed)).Count > 0, "the empty key is explained");
        (await EventsAsync(ns, "empty-key", WellKnown.Events.AllocationFailed))[0].Message.Should().Contain($"annotation {MetalLB.DeprecatedAllowSharedIP} is empty");
    }
}
