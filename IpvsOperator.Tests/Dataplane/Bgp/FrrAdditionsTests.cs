using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// The lines an apply only adds, as FrrSpeaker gives them to vtysh instead of running frr-reload:
/// each under the blocks that hold it, and nothing when a line was removed or changed. FRR takes
/// them (FrrSpeakerContractTests); this is what they are.
/// </summary>
public class FrrAdditionsTests
{
    private static readonly IPAddressValue RouterId = IPAddressValue.Parse("10.0.0.11");
    private static readonly BgpPeering Router = new(IPAddressValue.Parse("10.0.0.254"), PeerAsn: 64500, LocalAsn: 64512, Bfd: new BfdSettings());

    private static BgpAnnouncement[] Vips(params string[] addresses) => [.. addresses.Select(a => new BgpAnnouncement(IPAddressValue.Parse(a)))];

    [Test]
    public void A_new_VIP_is_its_network_line_inside_router_bgp_and_its_address_family()
    {
        var before = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1"));
        var after = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1", "198.51.100.2"));

        FrrSpeaker.Additions(before, after).Should().Be("""
            router bgp 64512
             address-family ipv4 unicast
              network 198.51.100.2/32
             exit-address-family
            exit

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void The_withdrawal_is_the_deny_map_and_each_peers_use_of_it()
    {
        var before = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1"));
        var after = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1"), withdrawn: true);

        FrrSpeaker.Additions(before, after).Should().Be("""
            router bgp 64512
             address-family ipv4 unicast
              neighbor 10.0.0.254 route-map ipvs-withdraw out
             exit-address-family
            exit
            route-map ipvs-withdraw deny 10
            exit

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void A_new_BFD_profile_opens_its_blocks_and_leaves_them()
    {
        var before = FrrConfiguration.Render(RouterId, [Router], []);
        var after = FrrConfiguration.Render(RouterId, [Router, new BgpPeering(IPAddressValue.Parse("10.0.1.1"), 64500, 64512, Bfd: new BfdSettings(100, 200, 5))], []);

        var additions = FrrSpeaker.Additions(before, after);

        additions.Should().Contain("bfd\n profile ipvs-bfd-2\nexit\nexit\n", "the profile line opens a block")
            .And.Contain("bfd\n profile ipvs-bfd-2\n  transmit-interval 100\nexit\nexit\n")
            .And.Contain("router bgp 64512\n neighbor 10.0.1.1 remote-as 64500\nexit\n");
    }

    [Test]
    public void A_removed_or_changed_line_is_not_an_addition()
    {
        var two = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1", "198.51.100.2"));

        FrrSpeaker.Additions(two, FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1"))).Should().BeNull("a VIP went");
        FrrSpeaker.Additions(two, FrrConfiguration.Render(RouterId, [Router with { PeerAsn = 64501 }], Vips("198.51.100.1", "198.51.100.2"))).Should().BeNull("the ASN changed");
        FrrSpeaker.Additions(two, two).Should().BeEmpty("nothing to add");
    }
}
