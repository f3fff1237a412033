using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// What FrrSpeaker gives vtysh instead of running frr-reload, when an apply only adds lines or
/// removes network statements: each line under the blocks that hold it, and nothing for any other
/// change. FRR takes them (FrrSpeakerContractTests); this is what they are.
/// </summary>
public class FrrIncrementTests
{
    private static readonly IPAddressValue RouterId = IPAddressValue.Parse("10.0.0.11");
    private static readonly BgpPeering Router = new(IPAddressValue.Parse("10.0.0.254"), PeerAsn: 64500, LocalAsn: 64512, Bfd: new BfdSettings());

    private static BgpAnnouncement[] Vips(params string[] addresses) => [.. addresses.Select(a => new BgpAnnouncement(IPAddressValue.Parse(a)))];

    [Test]
    public void A_new_VIP_is_its_network_line_inside_router_bgp_and_its_address_family()
    {
        var before = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1"));
        var after = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1", "198.51.100.2"));

        FrrSpeaker.Increment(before, after).Should().Be("""
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

        FrrSpeaker.Increment(before, after).Should().Be("""
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

        var additions = FrrSpeaker.Increment(before, after);

        additions.Should().Contain("bfd\n profile ipvs-bfd-2\nexit\nexit\n", "the profile line opens a block")
            .And.Contain("bfd\n profile ipvs-bfd-2\n  transmit-interval 100\nexit\nexit\n")
            .And.Contain("router bgp 64512\n neighbor 10.0.1.1 remote-as 64500\nexit\n");
    }

    [Test]
    public void A_VIP_gone_is_no_network_whatever_route_map_hung_on_it_and_comes_before_the_additions()
    {
        var before = FrrConfiguration.Render(RouterId, [Router], [.. Vips("198.51.100.1"), new BgpAnnouncement(IPAddressValue.Parse("198.51.100.2"), ["64500:1"], [], null)]);
        var after = FrrConfiguration.Render(RouterId, [Router], [.. Vips("198.51.100.1", "198.51.100.3"), new BgpAnnouncement(IPAddressValue.Parse("198.51.100.4"), ["64500:1"], [], null)]);

        FrrSpeaker.Increment(before, after).Should().Be("""
            router bgp 64512
             address-family ipv4 unicast
              no network 198.51.100.2/32
             exit-address-family
            exit
            router bgp 64512
             address-family ipv4 unicast
              network 198.51.100.3/32
             exit-address-family
            exit
            router bgp 64512
             address-family ipv4 unicast
              network 198.51.100.4/32 route-map ipvs-attributes-1
             exit-address-family
            exit

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void A_line_added_to_a_block_is_found_even_when_another_block_holds_the_same_text()
    {
        // Two attribute sets that share a community: the second's route-map repeats the first's line.
        var first = new BgpAnnouncement(IPAddressValue.Parse("198.51.100.1"), ["64500:1"], [], null);
        var before = FrrConfiguration.Render(RouterId, [Router], [first]);
        var after = FrrConfiguration.Render(RouterId, [Router], [first, new BgpAnnouncement(IPAddressValue.Parse("198.51.100.2"), ["64500:1"], [], 150)]);

        FrrSpeaker.Increment(before, after).Should().Contain("route-map ipvs-attributes-2 permit 10\n set community 64500:1 additive\nexit\n");
    }

    [Test]
    public void Any_other_change_is_left_to_frr_reload()
    {
        var two = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1", "198.51.100.2"));

        FrrSpeaker.Increment(two, FrrConfiguration.Render(RouterId, [Router with { PeerAsn = 64501 }], Vips("198.51.100.1", "198.51.100.2"))).Should().BeNull("the ASN changed");
        FrrSpeaker.Increment(two, FrrConfiguration.Render(RouterId, [], Vips("198.51.100.1", "198.51.100.2"))).Should().BeNull("the peer went");
        FrrSpeaker.Increment(FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1"), withdrawn: true), FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1")))
            .Should().BeNull("the withdrawal ends");
        FrrSpeaker.Increment(two, two).Should().BeEmpty("nothing to change");
    }

    private const string EmptyFrr = """
        Building configuration...

        Current configuration:
        !
        frr version 8.4.4
        frr defaults traditional
        hostname bg1
        log stdout informational
        service integrated-vtysh-config
        !
        end
        """;

    [Test]
    public void An_FRR_with_no_BGP_instance_takes_the_whole_text_from_vtysh()
    {
        var configuration = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1"));

        FrrSpeaker.HoldsOnlyPartsOf(EmptyFrr, configuration).Should().BeTrue("a sidecar started empty");
        var keptByBfdd = EmptyFrr.Replace("!\nend", "bfd\n profile ipvs-bfd-1\n exit\n !\nexit\n!\nend", StringComparison.Ordinal);
        FrrSpeaker.HoldsOnlyPartsOf(keptByBfdd, configuration).Should().BeTrue("bgpd restarted while bfdd kept the same profile");
    }

    [Test]
    public void Anything_the_text_would_remove_is_left_to_frr_reload()
    {
        var configuration = FrrConfiguration.Render(RouterId, [Router], Vips("198.51.100.1"));
        string With(string block) => EmptyFrr.Replace("!\nend", block + "\n!\nend", StringComparison.Ordinal);

        FrrSpeaker.HoldsOnlyPartsOf(With("router bgp 64512\n bgp router-id 10.0.0.11\nexit"), configuration).Should().BeFalse("a BGP instance is there");
        FrrSpeaker.HoldsOnlyPartsOf(With("route-map ipvs-attributes-9 permit 10\n set local-preference 50\nexit"), configuration).Should().BeFalse("a route-map the text no longer has");
        FrrSpeaker.HoldsOnlyPartsOf(With("bfd\n profile ipvs-bfd-1\n  transmit-interval 100\n exit\nexit"), configuration).Should().BeFalse("a profile setting the text does not give would stay");
        FrrSpeaker.HoldsOnlyPartsOf(With("interface eth0\n ip address 192.0.2.1/24\nexit"), configuration).Should().BeFalse("a block of someone else's: reload decides");
        var withoutBfd = FrrConfiguration.Render(RouterId, [Router with { Bfd = null }], Vips("198.51.100.1"));
        FrrSpeaker.HoldsOnlyPartsOf(With("bfd\nexit"), withoutBfd).Should().BeFalse("an empty bfd block the text does not have: frr-reload removes it");
    }
}
