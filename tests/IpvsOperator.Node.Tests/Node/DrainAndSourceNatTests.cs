using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Nftables;
using IpvsOperator.Dataplane;
using IpvsOperator.Node;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Node;

/// <summary>Draining endpoints, and the source NAT table as text.</summary>
public class DrainAndSourceNatTests
{
    private static readonly VirtualServiceKey Http = new(IPAddressValue.Parse("192.0.2.10"), IpvsProtocol.TCP, 80);

    private static Destination Backend(string address, uint weight = 1) => new(IPAddressValue.Parse(address), 8080, weight);

    private static DesiredState Desired(params Destination[] destinations) => DesiredState.Empty with
    {
        Services = new Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)> { [Http] = (new VirtualService(Http), destinations) },
    };

    private static ActualState Actual(params Destination[] destinations) => new(
        new HashSet<IPAddressValue>(),
        new Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)> { [Http] = (new VirtualService(Http), destinations) });

    [Test]
    public void An_endpoint_that_leaves_keeps_weight_0_until_the_drain_timeout_then_goes()
    {
        var clock = new ManualClock();
        var drains = new DrainTracker(TimeSpan.FromSeconds(30), clock);
        var programmed = Actual(Backend("10.0.0.2"), Backend("10.0.0.3"));

        drains.Apply(Desired(Backend("10.0.0.2")), programmed).Services[Http].Destinations
            .Should().Equal(Backend("10.0.0.2"), Backend("10.0.0.3", 0));
        drains.NextExpiry.Should().Be(clock.Now.AddSeconds(30));

        clock.Now = clock.Now.AddSeconds(29);
        drains.Apply(Desired(Backend("10.0.0.2")), Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0))).Services[Http].Destinations
            .Should().HaveCount(2, "29 s into a 30 s drain");

        clock.Now = clock.Now.AddSeconds(1);
        drains.Apply(Desired(Backend("10.0.0.2")), Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0))).Services[Http].Destinations
            .Should().Equal(Backend("10.0.0.2"));
        drains.NextExpiry.Should().BeNull();
        drains.Draining.Should().Be(0);
    }

    [Test]
    public void A_terminating_endpoint_at_weight_0_is_removed_after_the_drain_timeout_even_while_still_listed()
    {
        var clock = new ManualClock();
        var drains = new DrainTracker(TimeSpan.FromSeconds(10), clock);
        var terminating = Desired(Backend("10.0.0.2"), Backend("10.0.0.3", 0));

        drains.Apply(terminating, Actual(Backend("10.0.0.2"), Backend("10.0.0.3"))).Services[Http].Destinations.Should().HaveCount(2);
        clock.Now = clock.Now.AddSeconds(10);

        drains.Apply(terminating, Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0))).Services[Http].Destinations.Should().Equal(Backend("10.0.0.2"));
    }

    [Test]
    public void A_terminating_endpoint_still_listed_after_its_drain_stays_removed_and_comes_back_when_ready()
    {
        // Found by the sync lifecycle test: the drain restarted on the next sync, so the endpoint was
        // added again at weight 0, removed 10 s later, added again, for as long as it stayed listed.
        var clock = new ManualClock();
        var drains = new DrainTracker(TimeSpan.FromSeconds(10), clock);
        var terminating = Desired(Backend("10.0.0.2"), Backend("10.0.0.3", 0));
        drains.Apply(terminating, Actual(Backend("10.0.0.2"), Backend("10.0.0.3")));
        clock.Now = clock.Now.AddSeconds(10);
        drains.Apply(terminating, Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0))).Services[Http].Destinations.Should().Equal(Backend("10.0.0.2"));

        foreach (var seconds in new[] { 1, 10, 20 })
        {
            clock.Now = clock.Now.AddSeconds(seconds);
            drains.Apply(terminating, Actual(Backend("10.0.0.2"))).Services[Http].Destinations
                .Should().Equal([Backend("10.0.0.2")], "a drained endpoint is not drained again while it stays terminating");
        }
        drains.NextExpiry.Should().BeNull();

        drains.Apply(Desired(Backend("10.0.0.2"), Backend("10.0.0.3")), Actual(Backend("10.0.0.2"))).Services[Http].Destinations
            .Should().Equal(Backend("10.0.0.2"), Backend("10.0.0.3"));
    }

    [Test]
    public void An_endpoint_that_comes_back_while_draining_is_served_again_with_its_own_weight()
    {
        var clock = new ManualClock();
        var drains = new DrainTracker(TimeSpan.FromSeconds(30), clock);
        drains.Apply(Desired(Backend("10.0.0.2")), Actual(Backend("10.0.0.2"), Backend("10.0.0.3")));

        var back = drains.Apply(Desired(Backend("10.0.0.2"), Backend("10.0.0.3")), Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0)));

        back.Services[Http].Destinations.Should().Equal(Backend("10.0.0.2"), Backend("10.0.0.3"));
        drains.Draining.Should().Be(0);
    }

    [Test]
    public void A_cut_endpoint_is_removed_at_once_while_another_that_leaves_drains()
    {
        var drains = new DrainTracker(TimeSpan.FromSeconds(30), new ManualClock());
        var desired = Desired(Backend("10.0.0.2")) with { Cut = new HashSet<(VirtualServiceKey, IPAddressValue, ushort)> { (Http, IPAddressValue.Parse("10.0.0.3"), 8080) } };

        drains.Apply(desired, Actual(Backend("10.0.0.2"), Backend("10.0.0.3"), Backend("10.0.0.4"))).Services[Http].Destinations
            .Should().Equal(Backend("10.0.0.2"), Backend("10.0.0.4", 0));
        drains.Draining.Should().Be(1);
    }

    [Test]
    public void An_endpoint_its_health_check_holds_at_weight_0_stays_past_the_drain_timeout_and_drains_once_it_leaves()
    {
        var clock = new ManualClock();
        var drains = new DrainTracker(TimeSpan.FromSeconds(10), clock);
        var held = Desired(Backend("10.0.0.2"), Backend("10.0.0.3", 0)) with
        {
            HeldByHealthCheck = new HashSet<(VirtualServiceKey, IPAddressValue, ushort)> { (Http, IPAddressValue.Parse("10.0.0.3"), 8080) },
        };

        foreach (var seconds in new[] { 0, 10, 20, 600 })
        {
            clock.Now = clock.Now.AddSeconds(seconds);
            drains.Apply(held, Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0))).Services[Http].Destinations
                .Should().Equal([Backend("10.0.0.2"), Backend("10.0.0.3", 0)], "failing its health check, it stays at weight 0 while it stays listed");
            drains.IsDraining(Http, IPAddressValue.Parse("10.0.0.3"), 8080).Should().BeFalse("it is held, not draining");
            drains.NextExpiry.Should().BeNull();
        }

        drains.Apply(Desired(Backend("10.0.0.2")), Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0))).Services[Http].Destinations
            .Should().Equal([Backend("10.0.0.2"), Backend("10.0.0.3", 0)], "once it leaves its Service, it drains");
        drains.IsDraining(Http, IPAddressValue.Parse("10.0.0.3"), 8080).Should().BeTrue();
        clock.Now = clock.Now.AddSeconds(10);
        drains.Apply(Desired(Backend("10.0.0.2")), Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0))).Services[Http].Destinations
            .Should().Equal([Backend("10.0.0.2")], "and goes when its drain runs out");
    }

    [Test]
    public void A_terminating_endpoint_that_was_held_by_its_health_check_drains_from_then()
    {
        var clock = new ManualClock();
        var drains = new DrainTracker(TimeSpan.FromSeconds(10), clock);
        var programmed = Actual(Backend("10.0.0.2"), Backend("10.0.0.3", 0));
        drains.Apply(Desired(Backend("10.0.0.2"), Backend("10.0.0.3", 0)) with
        {
            HeldByHealthCheck = new HashSet<(VirtualServiceKey, IPAddressValue, ushort)> { (Http, IPAddressValue.Parse("10.0.0.3"), 8080) },
        }, programmed);
        clock.Now = clock.Now.AddSeconds(60);

        var terminating = Desired(Backend("10.0.0.2"), Backend("10.0.0.3", 0));
        drains.Apply(terminating, programmed).Services[Http].Destinations.Should().HaveCount(2, "its drain starts when it terminates, not when its health check failed");
        drains.NextExpiry.Should().Be(clock.Now.AddSeconds(10));
        clock.Now = clock.Now.AddSeconds(10);
        drains.Apply(terminating, programmed).Services[Http].Destinations.Should().Equal(Backend("10.0.0.2"));
    }

    [Test]
    public void With_no_drain_timeout_a_leaving_endpoint_goes_at_once()
    {
        var drains = new DrainTracker(TimeSpan.Zero, new ManualClock());

        drains.Apply(Desired(Backend("10.0.0.2")), Actual(Backend("10.0.0.2"), Backend("10.0.0.3"))).Services[Http].Destinations.Should().Equal(Backend("10.0.0.2"));
    }

    [Test]
    public void The_netfilter_table_masquerades_each_VIPs_ports_lets_through_only_served_ones_and_replaces_itself()
    {
        var v6 = IPAddressValue.Parse("2001:db8::a");
        var masqueraded = new HashSet<VirtualServiceKey> { Http, Http with { Port = 443 }, Http with { Protocol = IpvsProtocol.UDP, Port = 53 }, new(v6, IpvsProtocol.SCTP, 9000) };
        var script = NftablesScript.Render(new NetfilterRules(masqueraded, new HashSet<VirtualServiceKey>([.. masqueraded, Http with { Port = 8443 }])));

        script.Should().Be("""
            table inet ipvs_operator {}
            delete table inet ipvs_operator
            table inet ipvs_operator {
            	comment "ipvs-operator node agent: source NAT of forwarded load-balancer traffic and the VIPs' ports; rewritten as a whole"
            	map masquerade_ipv4 {
            		type ipv4_addr : verdict
            		elements = { 192.0.2.10 : jump vip_192_0_2_10 }
            	}
            	map masquerade_ipv6 {
            		type ipv6_addr : verdict
            		elements = { 2001:db8::a : jump vip_2001_db8__a }
            	}
            	chain vip_192_0_2_10 {
            		meta l4proto tcp ct original proto-dst 80 masquerade
            		meta l4proto tcp ct original proto-dst 443 masquerade
            		meta l4proto udp ct original proto-dst 53 masquerade
            	}
            	chain vip_2001_db8__a {
            		meta l4proto sctp ct original proto-dst 9000 masquerade
            	}
            	chain postrouting {
            		type nat hook postrouting priority srcnat; policy accept;
            		ct original ip daddr vmap @masquerade_ipv4
            		ct original ip6 daddr vmap @masquerade_ipv6
            	}
            	set vips_ipv4 {
            		type ipv4_addr
            		elements = { 192.0.2.10 }
            	}
            	set served_ipv4 {
            		type ipv4_addr . inet_proto . inet_service
            		elements = { 192.0.2.10 . tcp . 80, 192.0.2.10 . tcp . 443, 192.0.2.10 . tcp . 8443, 192.0.2.10 . udp . 53 }
            	}
            	set vips_ipv6 {
            		type ipv6_addr
            		elements = { 2001:db8::a }
            	}
            	set served_ipv6 {
            		type ipv6_addr . inet_proto . inet_service
            		elements = { 2001:db8::a . sctp . 9000 }
            	}
            	chain filter_vip_ports {
            		type filter hook input priority filter; policy accept;
            		ip daddr @vips_ipv4 meta l4proto { tcp, udp, sctp } ip daddr . meta l4proto . th dport != @served_ipv4 drop
            		ip6 daddr @vips_ipv6 meta l4proto { tcp, udp, sctp } ip6 daddr . meta l4proto . th dport != @served_ipv6 drop
            	}
            }

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void With_nothing_to_masquerade_the_table_is_still_complete_and_valid()
    {
        var script = NftablesScript.Render(NetfilterRules.None);

        script.Should().Contain("map masquerade_ipv4 {\n\t\ttype ipv4_addr : verdict\n\t}").And.NotContain("elements").And.NotContain("chain vip_");
    }
}
