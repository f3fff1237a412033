using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// FRR under the speaker contract, and what only the real one can show: the routes reach a router
/// of another implementation (BIRD 2) with their communities, a wrong ASN or password keeps the
/// session down with the reason FRR knows, BFD comes up, and an FRR restarted empty is repaired by
/// the next apply of the same text.
/// </summary>
[NonParallelizable]
public class FrrSpeakerContractTests : BgpSpeakerContract
{
    /// <summary>
    /// The router's extra speakers, one with BFD and one with a password, each with a node address of
    /// its own: TCP MD5 keys and BFD sessions go by the address pair, and would reach the plain session.
    /// </summary>
    private static readonly IPAddressValue RouterBfd = IPAddressValue.Parse("10.78.0.3");
    private static readonly IPAddressValue RouterPassword = IPAddressValue.Parse("10.78.0.4");
    private static readonly IPAddressValue NodeBfd = IPAddressValue.Parse("10.78.0.6");
    private static readonly IPAddressValue NodePassword = IPAddressValue.Parse("10.78.0.5");

    private const string Bird = """
        router id 10.78.0.2;
        protocol device { }
        protocol kernel { ipv4 { export all; }; merge paths on; }
        protocol kernel { ipv6 { export all; }; merge paths on; }
        protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
        template bgp node {
          local as 64500;
          hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 2;
        }
        protocol bgp n4 from node { local 10.78.0.2 as 64500; neighbor 10.78.0.1 as 64512; ipv4 { import all; export none; }; }
        protocol bgp n6 from node { local fd78::2 as 64500; neighbor fd78::1 as 64512; ipv6 { import all; export none; }; }
        protocol bgp nbfd from node { local 10.78.0.3 as 64500; neighbor 10.78.0.6 as 64512; bfd on; ipv4 { import all; export none; }; }
        protocol bgp nmd5 from node { local 10.78.0.4 as 64500; neighbor 10.78.0.5 as 64512; password "s3cret"; ipv4 { import all; export none; }; }
        """;

    private FrrLab lab = null!;

    protected override IBgpSpeaker Speaker => lab.Speaker;

    protected override string Diagnose() => lab.Diagnose();

    [OneTimeSetUp]
    public async Task StartLabAsync()
    {
        if (FrrLab.Missing() is { } missing)
        {
            Assert.Ignore($"{missing}; CI installs what it needs and fails on a skipped test");
        }
        lab = await FrrLab.StartAsync("ipvsbgp", Bird, [NodeBfd.ToString(), NodePassword.ToString()], [RouterBfd.ToString(), RouterPassword.ToString()]);
    }

    [OneTimeTearDown]
    public async Task StopLabAsync()
    {
        if (lab is not null)
        {
            await lab.DisposeAsync();
        }
    }

    /// <summary>Each test starts from FRR holding nothing.</summary>
    [SetUp]
    public void Empty() => lab.Speaker.Apply(FrrConfiguration.Render(RouterId, [], []));

    [Test]
    public async Task The_routes_reach_the_router_with_their_communities_and_go_when_withdrawn()
    {
        // VIPs of this test alone, so that another test's routes cannot be mistaken for these.
        var vips = new[] { new BgpAnnouncement(IPAddressValue.Parse("198.51.100.21"), ["64500:100", "64500:200"], ["64500:1:2"], null), new BgpAnnouncement(IPAddressValue.Parse("2001:db8::7")) };

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router), Peering(Router6)], vips));

        await EstablishedAsync(Router, 1);
        await EstablishedAsync(Router6, 1);
        var routes = string.Empty;
        await Eventually.TrueAsync(async () => (routes = await lab.RouterRoutesAsync()).Contains("198.51.100.21 via 10.78.0.1", StringComparison.Ordinal)
                && routes.Contains("2001:db8::7 via fd78::1", StringComparison.Ordinal),
            () => $"the router installs both routes with the node as next hop; it has {routes}");
        var attributes = await lab.BirdAsync("show", "route", "198.51.100.21/32", "all");
        attributes.Should().Contain("BGP.community: (64500,100) (64500,200)").And.Contain("BGP.large_community: (64500, 1, 2)");

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router), Peering(Router6)], []));
        await Eventually.TrueAsync(async () => !(routes = await lab.RouterRoutesAsync()).Contains("198.51.100.21", StringComparison.Ordinal) && !routes.Contains("2001:db8::7", StringComparison.Ordinal),
            () => $"withdrawn at once (the session stays); the router still has {routes}");
        Speaker.ReadSessions().Should().OnlyContain(s => s.IsEstablished, "withdrawing routes keeps the sessions");
    }

    /// <summary>
    /// MetalLB users put <c>no-export</c> (or <c>no-advertise</c>, <c>local-AS</c>) on a pool so that
    /// their router keeps the VIP to itself: the router must receive the route with the community.
    /// Attached where the route originates, FRR honours the community itself and sends the eBGP
    /// router nothing (the router here is AS 64500, the node 64512).
    /// </summary>
    [Test]
    public async Task Well_known_communities_reach_an_eBGP_router_instead_of_stopping_the_route_at_the_node()
    {
        BgpAnnouncement Tagged(string address, params string[] communities) => new(IPAddressValue.Parse(address), communities, [], null);
        var vips = new[]
        {
            Tagged("198.51.100.31", "no-export", "64500:9"),
            Tagged("198.51.100.32", "65535:65282"),
            Tagged("198.51.100.33", "local-AS"),
            Tagged("198.51.100.34", "no-export", "no-advertise", "local-AS"),
        };
        var text = FrrConfiguration.Render(RouterId, [Peering(Router)], vips);

        Speaker.Apply(text);

        await EstablishedAsync(Router, 4);
        var routes = string.Empty;
        await Eventually.TrueAsync(async () => (routes = await lab.RouterRoutesAsync()).Contains("198.51.100.31 via", StringComparison.Ordinal) && routes.Contains("198.51.100.32 via", StringComparison.Ordinal)
                && routes.Contains("198.51.100.33 via", StringComparison.Ordinal) && routes.Contains("198.51.100.34 via", StringComparison.Ordinal),
            () => $"the eBGP router receives every VIP; it has {routes}");
        (await lab.BirdAsync("show", "route", "198.51.100.31/32", "all")).Should().Contain("BGP.community: (64500,9) (65535,65281)")
            .And.NotContain("BGP.large_community", "the node's own marks are taken off before the route leaves");
        (await lab.BirdAsync("show", "route", "198.51.100.32/32", "all")).Should().Contain("BGP.community: (65535,65282)");
        (await lab.BirdAsync("show", "route", "198.51.100.33/32", "all")).Should().Contain("BGP.community: (65535,65283)");
        (await lab.BirdAsync("show", "route", "198.51.100.34/32", "all")).Should().Contain("BGP.community: (65535,65281) (65535,65282) (65535,65283)");

        await LeftAsFrrReloadWouldAsync(text, "with well-known communities");
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], vips, withdrawn: true));
        await Eventually.TrueAsync(async () => !(routes = await lab.RouterRoutesAsync()).Contains("198.51.100.3", StringComparison.Ordinal),
            () => $"withdrawn; the router still has {routes}");
    }

    [Test]
    public async Task VIPs_coming_and_going_and_the_withdrawal_before_a_stop_go_to_FRR_without_frr_reload()
    {
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.51")));
        await EstablishedAsync(Router, 1);
        var reloads = lab.Speaker.Reloads;
        var routes = string.Empty;

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.52"))).Should().BeTrue();
        await Eventually.TrueAsync(async () => (routes = await lab.RouterRoutesAsync()).Contains("198.51.100.52", StringComparison.Ordinal) && !routes.Contains("198.51.100.51", StringComparison.Ordinal),
            () => $"one VIP replaced by another on the router; it has {routes}");

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.52", "198.51.100.53"), withdrawn: true)).Should().BeTrue();
        await Eventually.TrueAsync(async () => !(routes = await lab.RouterRoutesAsync()).Contains("198.51.100.5", StringComparison.Ordinal),
            () => $"all withdrawn; the router still has {routes}");
        lab.Speaker.Reloads.Should().Be(reloads, "network statements added or removed, and lines added, go to vtysh directly");

        await LeftAsFrrReloadWouldAsync(FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.52", "198.51.100.53"), withdrawn: true), "after the withdrawal");

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.52"))).Should().BeTrue();
        lab.Speaker.Reloads.Should().BeGreaterThan(reloads, "the end of the withdrawal (a line removed) goes through frr-reload");
        await Eventually.TrueAsync(async () => (routes = await lab.RouterRoutesAsync()).Contains("198.51.100.52", StringComparison.Ordinal) && !routes.Contains("198.51.100.53", StringComparison.Ordinal),
            () => $"announced again without the removed VIP; the router has {routes}");

        // Two VIPs with the same attributes, then one of them gone: `no network P` while its route-map stays.
        BgpAnnouncement Tagged(string address) => new(IPAddressValue.Parse(address), ["64500:7"], [], null);
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], [.. Vips("198.51.100.52"), Tagged("198.51.100.55"), Tagged("198.51.100.56")]));
        await Eventually.TrueAsync(async () => (routes = await lab.RouterRoutesAsync()).Contains("198.51.100.56", StringComparison.Ordinal), () => $"the tagged VIPs on the router; it has {routes}");
        reloads = lab.Speaker.Reloads;
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], [.. Vips("198.51.100.52"), Tagged("198.51.100.55")]));
        lab.Speaker.Reloads.Should().Be(reloads, "FRR took `no network` of a statement with a route-map");
        await Eventually.TrueAsync(async () => !(routes = await lab.RouterRoutesAsync()).Contains("198.51.100.56", StringComparison.Ordinal), () => $"the removed tagged VIP gone; the router has {routes}");
        (await lab.BirdAsync("show", "route", "198.51.100.55/32", "all")).Should().Contain("BGP.community: (64500,7)", "the other keeps its attributes");
    }

    [TestCase(20261130)]
    [TestCase(7)]
    public async Task Random_VIP_churn_leaves_FRR_as_frr_reload_would_and_the_router_with_exactly_the_announced_VIPs(int seed)
    {
        // A lifecycle: VIPs come and go with and without attributes, the withdrawal goes on and off.
        // After each apply (through vtysh or frr-reload, whichever the change calls for), FRR must
        // hold what frr-reload makes of the whole text, and the router exactly the announced VIPs.
        var random = new Random(seed);
        string[][] attributeSets = [[], ["64500:1"], ["64500:1", "64500:2"]];
        var pool = Enumerable.Range(60, 12).Select(i => $"198.51.100.{i}").ToArray();
        var shown = new Dictionary<string, int>();
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], []));
        await EstablishedAsync(Router, 0);
        for (var step = 0; step < 12; step++)
        {
            foreach (var vip in pool.Where(_ => random.Next(3) == 0))
            {
                if (!shown.Remove(vip))
                {
                    shown[vip] = random.Next(attributeSets.Length);
                }
            }
            var withdrawn = random.Next(4) == 0;
            var announcements = shown.Select(v => new BgpAnnouncement(IPAddressValue.Parse(v.Key), attributeSets[v.Value], [], null)).ToList();
            var text = FrrConfiguration.Render(RouterId, [Peering(Router)], announcements, withdrawn);
            Speaker.Apply(text);

            await LeftAsFrrReloadWouldAsync(text, $"at step {step} (seed {seed})");

            var expected = withdrawn ? [] : shown.Keys.Order(StringComparer.Ordinal).ToList();
            var routes = new List<string>();
            await Eventually.TrueAsync(async () =>
            {
                routes = [.. (await lab.RouterRoutesAsync()).Split('\n').Where(l => l.StartsWith("198.51.100.", StringComparison.Ordinal)).Select(l => l.Split(' ')[0]).Order(StringComparer.Ordinal)];
                return routes.SequenceEqual(expected);
            }, () => $"step {step} (seed {seed}): the router holds exactly {string.Join(", ", expected)}; it holds {string.Join(", ", routes)}");
        }
    }

    [Test]
    public async Task Two_thousand_VIPs_go_at_once_when_their_Services_do()
    {
        await TwoThousandOnTheRouterAsync();
        var routes = string.Empty;

        // frr-reload took about a minute for this: it deletes lines one vtysh call at a time.
        var reloads = lab.Speaker.Reloads;
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], []));
        lab.Speaker.Reloads.Should().Be(reloads, "2,000 `no network` lines go to vtysh in one call");
        await Eventually.TrueAsync(async () => Count(routes = await lab.RouterRoutesAsync()) == 0, () => $"all gone; the router has {Count(routes)}", TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task Withdrawing_2000_routes_and_announcing_them_again_reaches_the_router_at_once()
    {
        var vips = await TwoThousandOnTheRouterAsync();
        var routes = string.Empty;

        // One outbound map, not 2,000 deleted network lines (which frr-reload deletes one vtysh call at a time: about a minute).
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], vips, withdrawn: true));
        await Eventually.TrueAsync(async () => Count(routes = await lab.RouterRoutesAsync()) == 0, () => $"all withdrawn; the router has {Count(routes)}", TimeSpan.FromSeconds(30));

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], vips));
        await Eventually.TrueAsync(async () => Count(routes = await lab.RouterRoutesAsync()) == 2_000, () => $"announced again; the router has {Count(routes)}", TimeSpan.FromSeconds(30));
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], [], withdrawn: true));
    }

    [Test]
    public async Task A_wrong_ASN_keeps_the_session_down_and_FRR_says_why()
    {
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router, peerAsn: 64501)], Vips("198.51.100.1")));

        BgpSessionState? session = null;
        await Eventually.TrueAsync(() => (session = Speaker.ReadSessions().Single()).LastError?.StartsWith(WrongPeerAs, StringComparison.Ordinal) == true,
            () => $"FRR names the reason with the AS the router gives; it reports {session}", TimeSpan.FromSeconds(60));
        session!.IsEstablished.Should().BeFalse();
        session.PrefixesAdvertised.Should().Be(0);
    }

    /// <summary>What a session with peer ASN 64501 says of the router, whose AS is 64500.</summary>
    private const string WrongPeerAs = "OPEN Message Error/Bad Peer AS: the peer's OPEN gives AS 64500, the BGPPeer's peerASN is 64501";

    [Test]
    public async Task A_wrong_local_ASN_is_the_router_refusing_the_node()
    {
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router) with { LocalAsn = 64513 }], Vips("198.51.100.1")));

        BgpSessionState? session = null;
        await Eventually.TrueAsync(() => (session = Speaker.ReadSessions().Single()).LastError?.StartsWith("the peer sent OPEN Message Error/Bad Peer AS", StringComparison.Ordinal) == true,
            () => $"the router's NOTIFICATION is told apart from FRR's own; it reports {session}", TimeSpan.FromSeconds(60));
        session!.IsEstablished.Should().BeFalse();
    }

    [Test]
    public async Task A_wrong_ASN_on_a_session_with_BFD_keeps_its_reason_when_BFD_goes_down()
    {
        // BIRD drops its BFD session when the BGP session fails, and FRR then reports "BFD down
        // received" instead of the NOTIFICATION it sent: the reason shows for about 0.3 s, twice, and
        // BIRD sends no OPEN after that. Only the refused OPEN, which FRR keeps, can still say why.
        // FRR's default BFD timers (300 ms, 3 times: a 0.9 s detection), not the 100 ms of the BFD
        // test: on a loaded machine a 0.3 s detection can flap BFD before BGP exchanges an OPEN (a CI
        // run had nothing to explain for 60 s). The router's own teardown is not timed: it sends
        // AdminDown at once.
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(RouterBfd, peerAsn: 64501) with { Source = NodeBfd, Bfd = new BfdSettings() }], Vips("198.51.100.1")));
        BgpSessionState? session = null;
        string Read() => (session = Speaker.ReadSessions().Single()).LastError ?? string.Empty;
        // BFD may also go down before the first OPEN (the router's BFD session flapping): then there
        // is nothing to explain yet. Once FRR refused an OPEN, its reason turns to BFD for good.
        await Eventually.TrueAsync(() => Read().StartsWith($"{WrongPeerAs}; since then FRR reports BFD down received", StringComparison.Ordinal),
            () => $"the AS the router gives outlasts FRR's reason, which BFD overwrote; now {session}", TimeSpan.FromSeconds(120));

        var bfdWentDown = false;
        await Eventually.TrueAsync(() =>
        {
            Read().Should().StartWith(WrongPeerAs, "the reason stays while BFD flaps; now {0}", session);
            bfdWentDown |= session!.Bfd == "Down";
            return bfdWentDown && session.Bfd == "Up";
        }, () => $"BFD goes down and up again (the router drops its BFD session with the failed BGP session); now {session}", TimeSpan.FromSeconds(120));
        session!.IsEstablished.Should().BeFalse();
    }

    [Test]
    public async Task A_session_with_a_password_comes_up_only_with_the_right_one()
    {
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(RouterPassword) with { Source = NodePassword, Password = "wrong" }], Vips("198.51.100.1")));
        // FRR says nothing of the password; the node's kernel counts the router's segments it drops.
        BgpSessionState? session = null;
        await Eventually.TrueAsync(() => (session = Speaker.ReadSessions().Single()).LastError?.StartsWith(TcpMd5Evidence.Failure, StringComparison.Ordinal) == true,
            () => $"the session says the router signs with another password; it is {session}", TimeSpan.FromSeconds(60));
        session!.IsEstablished.Should().BeFalse("TCP MD5 drops the segments of a wrong password");
        session.LastError.Should().NotContain("wrong").And.NotContain("s3cret");

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(RouterPassword) with { Source = NodePassword, Password = "s3cret" }], Vips("198.51.100.1")));
        await EstablishedAsync(RouterPassword, 1);
    }

    [Test]
    public async Task BFD_comes_up_on_a_session_that_asks_for_it()
    {
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(RouterBfd) with { Source = NodeBfd, Bfd = new BfdSettings(100, 100, 3) }], Vips("198.51.100.1")));

        await EstablishedAsync(RouterBfd, 1);
        await Eventually.TrueAsync(() => Speaker.ReadSessions().Single().Bfd == "Up",
            () => $"BFD is up; {Speaker.ReadSessions().Single()}\n{lab.Diagnose()}\n# BIRD\n{lab.BirdAsync("show", "bfd", "sessions").GetAwaiter().GetResult()}", TimeSpan.FromSeconds(30));
        (await lab.BirdAsync("show", "bfd", "sessions")).Should().MatchRegex(@"10\.78\.0\.6\s+r0\s+Up");
    }

    [Test]
    public async Task A_session_whose_BFD_is_turned_off_is_established_without_it()
    {
        var withBfd = Peering(RouterBfd) with { Source = NodeBfd, Bfd = new BfdSettings(100, 100, 3) };
        Speaker.Apply(FrrConfiguration.Render(RouterId, [withBfd], Vips("198.51.100.1")));
        await Eventually.TrueAsync(() => Speaker.ReadSessions().SingleOrDefault() is { IsEstablished: true, Bfd: "Up" }, () => $"BFD is up; {Speaker.ReadSessions().SingleOrDefault()}", TimeSpan.FromSeconds(60));

        Speaker.Apply(FrrConfiguration.Render(RouterId, [withBfd with { Bfd = null }], Vips("198.51.100.1"))).Should().BeTrue();

        await Eventually.TrueAsync(() => Speaker.ReadSessions().SingleOrDefault() is { IsEstablished: true, Bfd: null, PrefixesAdvertised: 1 },
            () => $"the session is established without BFD; {Speaker.ReadSessions().SingleOrDefault()}\n{lab.Diagnose()}", TimeSpan.FromSeconds(60));
    }

    [Test]
    public async Task When_bgpd_dies_the_router_drops_its_routes_at_once_instead_of_keeping_them_stale()
    {
        // Without BFD, a dead node's routes must leave the router when its session ends: with the
        // graceful restart capability (FRR's default helper mode sends it) BIRD kept them as stale
        // for 120 s, and a third of the clients went on to a dead node (seen in the kernel VM).
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.41")));
        await EstablishedAsync(Router, 1);
        var routes = string.Empty;
        await Eventually.TrueAsync(async () => (routes = await lab.RouterRoutesAsync()).Contains("198.51.100.41", StringComparison.Ordinal),
            () => $"the router has the route; it has {routes}");

        await lab.Frr.KillDaemonAsync("bgpd");
        try
        {
            await Eventually.TrueAsync(async () => !(routes = await lab.RouterRoutesAsync()).Contains("198.51.100.41", StringComparison.Ordinal),
                () => $"the router drops the route of a session that ended (hold time 3 s); it still has {routes}\n{lab.BirdAsync("show", "protocols", "all").GetAwaiter().GetResult()}",
                TimeSpan.FromSeconds(30));
        }
        finally
        {
            await lab.Frr.StartDaemonAsync("bgpd");
        }
    }

    [Test]
    public async Task An_FRR_restarted_empty_is_given_the_configuration_again_by_the_next_apply_of_the_same_text()
    {
        var configuration = FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.9"));
        Speaker.Apply(configuration);
        await EstablishedAsync(Router, 1);

        await lab.Frr.KillDaemonAsync("bgpd");
        await lab.Frr.StartDaemonAsync("bgpd");

        var (reloads, firstApplies) = (lab.Speaker.Reloads, lab.Speaker.FirstApplies);
        Speaker.Apply(configuration).Should().BeTrue("the running configuration is no longer the one applied");
        (lab.Speaker.Reloads, lab.Speaker.FirstApplies).Should().Be((reloads, firstApplies + 1), "bgpd restarted empty takes the text from vtysh, without frr-reload");
        await EstablishedAsync(Router, 1);
        Speaker.Apply(configuration).Should().BeFalse();
        await LeftAsFrrReloadWouldAsync(configuration, "after a restart");
    }

    [Test]
    public async Task A_first_configuration_on_an_FRR_without_BGP_goes_to_vtysh_in_one_call_and_leaves_FRR_as_frr_reload_would()
    {
        // As an agent starting beside an empty sidecar: a speaker of its own, every kind of line at once.
        var tagged = new BgpAnnouncement(IPAddressValue.Parse("198.51.100.61"), ["64500:61"], ["64500:6:1"], 150);
        var configuration = FrrConfiguration.Render(RouterId,
            [Peering(Router), Peering(Router6), Peering(RouterBfd) with { Source = NodeBfd, Bfd = new BfdSettings(100, 100, 3) }, Peering(RouterPassword) with { Source = NodePassword, Password = "s3cret" }],
            [tagged, .. Vips("198.51.100.62", "2001:db8::62")]);
        var starting = new FrrSpeaker(lab.Frr.Paths, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        starting.Apply(configuration).Should().BeTrue();

        (starting.FirstApplies, starting.Reloads).Should().Be((1, 0), "FRR held no BGP instance (the set-up emptied it), so no frr-reload ran");
        foreach (var peer in new[] { Router, Router6, RouterBfd, RouterPassword })
        {
            await Eventually.TrueAsync(() => starting.ReadSessions().Any(s => s.Peer == peer && s.IsEstablished), () => $"{peer} is established: {string.Join("; ", starting.ReadSessions())}", TimeSpan.FromSeconds(60));
        }
        var routes = string.Empty;
        await Eventually.TrueAsync(async () => (routes = await lab.RouterRoutesAsync()).Contains("198.51.100.61", StringComparison.Ordinal) && routes.Contains("2001:db8::62", StringComparison.Ordinal),
            () => $"the router has the routes; it has {routes}");
        (await lab.BirdAsync("show", "route", "198.51.100.61/32", "all")).Should().Contain("BGP.community: (64500,61)").And.Contain("BGP.large_community: (64500, 6, 1)");
        starting.Apply(configuration).Should().BeFalse("FRR holds what was applied");
        await LeftAsFrrReloadWouldAsync(configuration, "by the first apply");
    }

    /// <summary>
    /// FRR's running configuration now is what frr-reload, run by a speaker of its own, makes of
    /// <paramref name="text"/>. zebra's forwarding lines aside: frr-reload removes a `no ip forwarding`
    /// it finds by turning forwarding on (the namespace's sysctl), which no text of ours asks for.
    /// </summary>
    private async Task LeftAsFrrReloadWouldAsync(string text, string when)
    {
        async Task<string> RunningAsync()
        {
            var output = (await Processes.RunAsync("vtysh", ["--vty_socket", lab.Frr.Sockets, "-c", "show running-config"])).Output;
            return string.Join('\n', output.Split('\n').Where(l => l is not ("no ip forwarding" or "no ipv6 forwarding" or "ip forwarding" or "ipv6 forwarding")));
        }
        var running = await RunningAsync();
        new FrrSpeaker(lab.Frr.Paths, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).Apply(text);
        (await RunningAsync()).Should().Be(running, "FRR was left {0} as frr-reload would leave it", when);
    }

    /// <summary>2,000 VIPs of 198.18.0.0/15 announced, once the router holds them all.</summary>
    private async Task<List<BgpAnnouncement>> TwoThousandOnTheRouterAsync()
    {
        var vips = Enumerable.Range(0, 2_000).Select(i => new BgpAnnouncement(new IPAddressValue(IPFamily.IPv4, (uint)(0xC6120000 + i)))).ToList();
        var routes = string.Empty;
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], vips));
        await Eventually.TrueAsync(async () => Count(routes = await lab.RouterRoutesAsync()) == 2_000, () => $"2,000 routes; the router has {Count(routes)}", TimeSpan.FromSeconds(90));
        return vips;
    }

    /// <summary>The router's routes of 198.18.0.0/15.</summary>
    private static int Count(string routes) => routes.Split('\n').Count(l => l.StartsWith("198.18.", StringComparison.Ordinal));
}
