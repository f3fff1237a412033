using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// The FRR configuration a node renders: what it says, that the same input gives the same text,
/// that FRR's own parser (vtysh --dryrun, Debian's frr) accepts it, and that no value can add a line.
/// </summary>
public class FrrConfigurationTests
{
    private static readonly IPAddressValue RouterId = IPAddressValue.Parse("10.0.0.11");

    private static IPAddressValue Ip(string text) => IPAddressValue.Parse(text);

    private static readonly BgpPeering Router = new(Ip("10.0.0.254"), PeerAsn: 64500, LocalAsn: 64512, Password: "s3cr3t!", Bfd: new BfdSettings());

    [Test]
    public void A_peer_and_two_VIPs_become_one_session_and_two_networks_the_attributes_hung_on_a_route_map_of_the_network_the_honoured_communities_marked()
    {
        var text = FrrConfiguration.Render(RouterId, [Router],
            [new BgpAnnouncement(Ip("198.51.100.2"), ["64500:100", "no-export"], [], 200), new BgpAnnouncement(Ip("198.51.100.1"))]);

        text.Should().Be("""
            frr defaults traditional
            log stdout informational
            !
            router bgp 64512
             bgp router-id 10.0.0.11
             no bgp network import-check
             no bgp ebgp-requires-policy
             no bgp default ipv4-unicast
             bgp graceful-restart-disable
             neighbor 10.0.0.254 remote-as 64500
             neighbor 10.0.0.254 timers 30 90
             neighbor 10.0.0.254 timers connect 10
             neighbor 10.0.0.254 password s3cr3t!
             neighbor 10.0.0.254 bfd
             neighbor 10.0.0.254 bfd profile ipvs-bfd-1
             !
             address-family ipv4 unicast
              network 198.51.100.1/32
              network 198.51.100.2/32 route-map ipvs-attributes-1
              neighbor 10.0.0.254 activate
              neighbor 10.0.0.254 route-map ipvs-import in
              neighbor 10.0.0.254 route-map ipvs-export out
             exit-address-family
            exit
            !
            route-map ipvs-attributes-1 permit 10
             set community 64500:100 additive
             set large-community 4294967295:65535:65281 additive
             set local-preference 200
            exit
            !
            bgp large-community-list standard ipvs-no-export seq 5 permit 4294967295:65535:65281
            bgp large-community-list standard ipvs-no-advertise seq 5 permit 4294967295:65535:65282
            bgp large-community-list standard ipvs-local-as seq 5 permit 4294967295:65535:65283
            !
            route-map ipvs-export permit 10
             match large-community ipvs-no-export
             on-match next
             set community no-export additive
             set large-comm-list ipvs-no-export delete
            exit
            !
            route-map ipvs-export permit 20
             match large-community ipvs-no-advertise
             on-match next
             set community no-advertise additive
             set large-comm-list ipvs-no-advertise delete
            exit
            !
            route-map ipvs-export permit 30
             match large-community ipvs-local-as
             on-match next
             set community local-AS additive
             set large-comm-list ipvs-local-as delete
            exit
            !
            route-map ipvs-export permit 100
            exit
            !
            route-map ipvs-import deny 10
            exit
            !
            bfd
             profile ipvs-bfd-1
             exit
            exit
            !

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void VIPs_of_a_pool_that_aggregates_are_announced_as_one_prefix_per_aggregate()
    {
        var text = FrrConfiguration.Render(RouterId, [Router with { Address = Ip("fd00::fe"), Password = null, Bfd = null }],
        [
            new BgpAnnouncement(Ip("2001:db8::1:5"), [], [], null, 112),
            new BgpAnnouncement(Ip("2001:db8::1:9"), [], [], null, 112),
            new BgpAnnouncement(Ip("2001:db8::2:1"), [], [], null, 112),
            new BgpAnnouncement(Ip("2001:db8::3:1")),
        ]);

        text.Split('\n').Where(l => l.Contains("network", StringComparison.Ordinal) && !l.Contains("import-check", StringComparison.Ordinal))
            .Should().Equal("  network 2001:db8::1:0/112", "  network 2001:db8::2:0/112", "  network 2001:db8::3:1/128");
        FluentActions.Invoking(() => FrrConfiguration.Render(RouterId, [Router], [new BgpAnnouncement(Ip("198.51.100.1"), [], [], null, 33)]))
            .Should().Throw<ArgumentException>().WithMessage("prefix length 33 (for 198.51.100.1) is not 1 to 32*");
    }

    [Test]
    public void The_same_peers_and_VIPs_in_any_order_render_the_same_text()
    {
        var peers = new[] { Router, Router with { Address = Ip("10.0.0.253") }, new BgpPeering(Ip("fd00::fe"), 64500, 64512) };
        var vips = Enumerable.Range(1, 20).Select(i => new BgpAnnouncement(Ip($"198.51.100.{i}"), i % 2 == 0 ? ["64500:1"] : [], [], null))
            .Append(new BgpAnnouncement(Ip("2001:db8::1"))).ToList();

        FrrConfiguration.Render(RouterId, [.. peers.Reverse()], [.. vips.OrderBy(v => v.Address.ToString().GetHashCode(StringComparison.Ordinal))])
            .Should().Be(FrrConfiguration.Render(RouterId, peers, vips));
    }

    private static string? Vtysh() =>
        Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, "vtysh")).FirstOrDefault(File.Exists);

    private static IEnumerable<TestCaseData> Configurations()
    {
        yield return new TestCaseData("no peers", Array.Empty<BgpPeering>(), Array.Empty<BgpAnnouncement>());
        yield return new TestCaseData("a peer, nothing to announce", new[] { Router }, Array.Empty<BgpAnnouncement>());
        yield return new TestCaseData("every setting, both families, 2,000 VIPs",
            new[]
            {
                Router with { Source = Ip("10.0.0.11"), Port = 1179, KeepaliveSeconds = 3, HoldSeconds = 9, EbgpMultihop = 2 },
                new BgpPeering(Ip("10.0.0.253"), 64512, 64512, Bfd: new BfdSettings(100, 200, 5)),
                new BgpPeering(Ip("fd00::fe"), 64500, 64512, Password: "v6-only", Bfd: new BfdSettings()),
            },
            Enumerable.Range(0, 2_000).Select(i => new BgpAnnouncement(Ip($"198.18.{i / 250}.{i % 250 + 1}"), ["64500:100"], ["64500:1:2"], i % 3 == 0 ? 150u : null))
                .Append(new BgpAnnouncement(Ip("2001:db8::10"), ["no-advertise", "graceful-shutdown"], [], null)).ToArray());
    }

    [TestCaseSource(nameof(Configurations))]
    public async Task FRR_s_own_parser_accepts_what_is_rendered(string what, BgpPeering[] peers, BgpAnnouncement[] vips)
    {
        if (Vtysh() is not { } vtysh)
        {
            Assert.Ignore("vtysh is not installed (apt-get install frr); CI installs it and fails on a skipped test");
            return;
        }
        var file = Path.Combine(Directory.CreateTempSubdirectory("frr-").FullName, "frr.conf");
        await File.WriteAllTextAsync(file, FrrConfiguration.Render(RouterId, peers, vips));

        var result = await Processes.RunAsync(vtysh, ["--dryrun", "-f", file], TimeSpan.FromMinutes(2));

        result.ExitCode.Should().Be(0, $"FRR accepts the configuration for {what}; it said: {result.Output}");
    }

    [Test]
    public async Task FRR_s_own_parser_refuses_a_line_it_does_not_know_so_the_check_above_can_fail()
    {
        if (Vtysh() is not { } vtysh)
        {
            Assert.Ignore("vtysh is not installed (apt-get install frr); CI installs it and fails on a skipped test");
            return;
        }
        var file = Path.Combine(Directory.CreateTempSubdirectory("frr-").FullName, "frr.conf");
        await File.WriteAllTextAsync(file, FrrConfiguration.Render(RouterId, [Router], []).Replace("remote-as", "remote-ass", StringComparison.Ordinal));

        (await Processes.RunAsync(vtysh, ["--dryrun", "-f", file], TimeSpan.FromMinutes(2))).ExitCode.Should().NotBe(0);
    }

    [TestCase("s3cret\nrouter bgp 1", "the password of peer 10.0.0.254 is not 1 to 80 printable characters without spaces")]
    [TestCase("two words", "the password of peer 10.0.0.254 is not")]
    public void A_password_that_would_add_a_line_or_a_word_is_refused(string password, string message) =>
        FluentActions.Invoking(() => FrrConfiguration.Render(RouterId, [Router with { Password = password }], []))
            .Should().Throw<ArgumentException>().WithMessage($"{message}*");

    [TestCase("64500:100000", false)]
    [TestCase("64500:100\n!", false)]
    [TestCase("65536:1", false)]
    [TestCase("064500:1", false)]
    [TestCase("no-export", true)]
    [TestCase("0:0", true)]
    public void Communities_are_AA_NN_or_a_well_known_name(string community, bool valid)
    {
        BgpSyntax.IsCommunity(community).Should().Be(valid);
        var render = () => FrrConfiguration.Render(RouterId, [Router], [new BgpAnnouncement(Ip("198.51.100.1"), [community], [], null)]);
        if (valid)
        {
            render.Should().NotThrow();
        }
        else
        {
            render.Should().Throw<ArgumentException>().WithMessage($"'{community}' (for 198.51.100.1) is not a community: AA:NN or one of no-export, *");
        }
    }

    [TestCase("64500:1:2", true)]
    [TestCase("4294967295:0:1", true)]
    [TestCase("4294967296:0:1", false)]
    [TestCase("64500:1", false)]
    public void Large_communities_are_three_32_bit_numbers(string community, bool valid) =>
        BgpSyntax.IsLargeCommunity(community).Should().Be(valid);

    [Test]
    public void One_node_speaks_as_one_ASN_with_an_IPv4_router_ID()
    {
        FluentActions.Invoking(() => FrrConfiguration.Render(RouterId, [Router, new BgpPeering(Ip("10.0.0.253"), 64500, 64513)], []))
            .Should().Throw<ArgumentException>().WithMessage("the peers of one node ask for local ASNs 64512, 64513; a node speaks BGP as one ASN*");
        FluentActions.Invoking(() => FrrConfiguration.Render(Ip("fd00::11"), [Router], []))
            .Should().Throw<ArgumentException>().WithMessage("router ID fd00::11 is not an IPv4 address*");
    }
}
