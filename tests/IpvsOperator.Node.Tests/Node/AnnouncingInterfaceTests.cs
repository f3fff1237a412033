using System.Net.NetworkInformation;
using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Node;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>The announcing interface kept equal to the held addresses, on the in-memory dataplane.</summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public class AnnouncingInterfaceTests
{
    private static readonly IPAddressValue Vip = IPAddressValue.Parse("198.51.100.1");
    private static readonly IPAddressValue NodeAddress = IPAddressValue.Parse("192.0.2.11");
    private readonly ManualClock clock;
    private readonly NodeDataplane dataplane;

    public AnnouncingInterfaceTests()
    {
        clock = new ManualClock();
        dataplane = NodeDataplaneFactory.InMemory(clock);
    }

    private InMemoryAddressManager Links => (InMemoryAddressManager)dataplane.Links;
    private InMemoryNeighbourAdvertiser Advertiser => (InMemoryNeighbourAdvertiser)dataplane.Advertiser;

    private AnnouncingInterface Announcer(Layer2Options? options = null) =>
        new(dataplane, options ?? new Layer2Options(), a => a == Vip, NullLogger.Instance, clock);

    [Test]
    public void A_taken_address_goes_on_the_default_routes_interface_with_a_lifetime_and_is_announced_three_times_a_round_apart()
    {
        var announcer = Announcer();

        announcer.Apply(new HashSet<IPAddressValue> { Vip });

        announcer.Interface.Should().Be("eth0", "the interface of the default route");
        Links.ListAddresses("eth0").Should().Contain(Vip);
        Links.ExpiryOf("eth0", Vip).Should().Be(clock.Now + Layer2Options.Defaults.RenewDeadline, "the renew deadline: an agent that dies stops answering before others take over (at the lease)");
        dataplane.Sysctl.Read("net/ipv4/conf/eth0/arp_ignore").Should().Be("1");
        dataplane.Sysctl.Read("net/ipv4/conf/eth0/arp_announce").Should().Be("2");
        Advertiser.Sent.Should().Equal([("eth0", Vip)]);

        for (var round = 0; round < 4; round++)
        {
            clock.Now += Layer2Options.Defaults.RetryPeriod;
            announcer.Apply(new HashSet<IPAddressValue> { Vip });
        }

        Advertiser.Sent.Should().HaveCount(3, "three announcements in all, then the kernel answers ARP by itself");
        Links.ExpiryOf("eth0", Vip).Should().BeAfter(clock.Now + Layer2Options.Defaults.RetryPeriod, "the lifetime is refreshed while the address is held (unrefreshed, it would end now)");
    }

    [Test]
    public void An_address_held_no_longer_leaves_the_interface_and_the_nodes_own_address_is_never_touched()
    {
        Links.AddAddress("eth0", NodeAddress);
        var announcer = Announcer();
        announcer.Apply(new HashSet<IPAddressValue> { Vip });

        announcer.Apply(new HashSet<IPAddressValue>());

        Links.ListAddresses("eth0").Should().Equal([NodeAddress]);
    }

    [Test]
    public void A_VIP_left_on_the_interface_by_an_earlier_run_is_removed_when_not_held()
    {
        Links.RefreshAddress("eth0", Vip, TimeSpan.FromSeconds(3));

        Announcer().Apply(new HashSet<IPAddressValue>());

        Links.ListAddresses("eth0").Should().NotContain(Vip);
    }

    [Test]
    public void An_address_that_ran_out_while_the_agent_stalled_is_added_and_announced_again()
    {
        var announcer = Announcer();
        announcer.Apply(new HashSet<IPAddressValue> { Vip });
        clock.Now += TimeSpan.FromSeconds(10);
        Links.ListAddresses("eth0").Should().NotContain(Vip, "the kernel removed it when its lifetime ran out");

        announcer.Apply(new HashSet<IPAddressValue> { Vip });

        Links.ListAddresses("eth0").Should().Contain(Vip);
        Advertiser.Sent.Should().HaveCount(2, "announced again: the LAN may have moved on meanwhile");
    }

    [Test]
    public void Without_a_default_route_or_an_interface_nothing_is_announced_and_nothing_throws()
    {
        Links.DefaultRoute = null;
        var announcer = Announcer();

        announcer.Apply(new HashSet<IPAddressValue> { Vip });

        announcer.Interface.Should().BeNull();
        announcer.Problem.Should().Contain("no default route").And.Contain("--announce-iface");
        announcer.Ready().Should().BeFalse("the election asks this before every round: such a node takes no address");
        Advertiser.Sent.Should().BeEmpty();

        Links.AddLink("bond0", "bond", new PhysicalAddress([2, 0, 0, 0, 0, 0x42]));
        var told = Announcer(new Layer2Options { Interface = "bond0" });
        told.Apply(new HashSet<IPAddressValue> { Vip });
        Links.ListAddresses("bond0").Should().Contain(Vip, "--announce-iface names the interface");
    }

    [TestCase(3, 3, 0.5, "--renew-deadline")]
    [TestCase(3, 2, 1.5, "--retry-period")]
    public void Timings_that_would_allow_two_announcers_are_refused_naming_the_flag(double lease, double renew, double retry, string flag)
    {
        var options = new Layer2Options { LeaseDuration = TimeSpan.FromSeconds(lease), RenewDeadline = TimeSpan.FromSeconds(renew), RetryPeriod = TimeSpan.FromSeconds(retry) };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage($"{flag}*");
    }

    [Test]
    public async Task The_node_verb_refuses_such_timings_before_touching_anything_and_accepts_its_defaults()
    {
        var binary = Path.Combine(AppContext.BaseDirectory, "ipvs-operator.dll");
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-kubeconfig-{Guid.NewGuid():N}");

        var refused = await Processes.RunAsync("dotnet", [binary, "node", "--dataplane", "memory", "--kubeconfig", missing, "--renew-deadline", "00:00:04"], TimeSpan.FromSeconds(60));
        var defaults = await Processes.RunAsync("dotnet", [binary, "node", "--dataplane", "memory", "--kubeconfig", missing], TimeSpan.FromSeconds(60));

        refused.ExitCode.Should().Be(2);
        refused.Error.Should().Contain("--renew-deadline (4 s) must be shorter than --lease-duration (3 s)");
        (defaults.Output + defaults.Error).Should().NotContain("must be", "the default timings are valid; this run stops at the missing kubeconfig")
            .And.Contain(missing);
    }
}
