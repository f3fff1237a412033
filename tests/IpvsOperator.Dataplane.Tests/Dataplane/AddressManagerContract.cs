using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>One contract, two implementations: what the in-memory manager promises, the kernel does.</summary>
public abstract class AddressManagerContract
{
    protected abstract IAddressManager Manager { get; }

    /// <summary>A link that exists and may be changed.</summary>
    protected abstract string Link { get; }

    [Test]
    public void Lists_links_including_the_loopback_and_the_test_link()
    {
        Manager.ListLinks().Select(l => l.Name).Should().Contain(["lo", Link]);
    }

    [Test]
    public void Brings_a_link_up()
    {
        Manager.SetLinkUp(Link);
        Manager.ListLinks().Single(l => l.Name == Link).Up.Should().BeTrue();
    }

    [TestCase("192.0.2.10")]
    [TestCase("2001:db8::10")]
    public void Adds_lists_and_removes_host_addresses_with_the_same_errors(string text)
    {
        var address = IPAddressValue.Parse(text);

        Manager.AddAddress(Link, address);
        Manager.ListAddresses(Link).Should().Contain(address);
        var again = () => Manager.AddAddress(Link, address);
        again.Should().Throw<DataplaneException>().Which.AlreadyExists.Should().BeTrue();

        Manager.RemoveAddress(Link, address);
        Manager.ListAddresses(Link).Should().NotContain(address);
        var missing = () => Manager.RemoveAddress(Link, address);
        missing.Should().Throw<DataplaneException>().Which.Error.Should().Be(DataplaneError.AddressNotAvailable);
    }

    [TestCase("192.0.2.20")]
    [TestCase("2001:db8::20")]
    public void An_address_with_a_lifetime_is_added_once_and_refreshing_it_is_no_error(string text)
    {
        var address = IPAddressValue.Parse(text);

        Manager.RefreshAddress(Link, address, TimeSpan.FromSeconds(30));
        Manager.RefreshAddress(Link, address, TimeSpan.FromSeconds(30));

        Manager.ListAddresses(Link).Count(a => a == address).Should().Be(1);
        Manager.RemoveAddress(Link, address);
    }

    [Test]
    public void A_missing_link_is_not_found_naming_it()
    {
        var act = () => Manager.AddAddress("no-such-link", IPAddressValue.Parse("192.0.2.1"));
        act.Should().Throw<DataplaneException>().Where(e => e.NotFound && e.Message.Contains("no-such-link"));
    }
}

public class InMemoryAddressManagerTests : AddressManagerContract
{
    private readonly InMemoryAddressManager manager = new();

    public InMemoryAddressManagerTests() => manager.AddLink("veth0", "veth");

    protected override IAddressManager Manager => manager;
    protected override string Link => "veth0";

    [Test]
    public void Creates_a_dummy_link_once_and_brings_it_up()
    {
        var created = manager.EnsureDummyLink("ipvs-lb0");
        manager.EnsureDummyLink("ipvs-lb0").Should().Be(created);
        created.Kind.Should().Be("dummy");
        created.Up.Should().BeTrue();
    }
}

/// <summary>
/// The same contract against the host kernel over NETLINK_ROUTE, in a network namespace the test
/// creates, on a veth link (the host kernel has no dummy links; those are tested in the kernel VM).
/// Each address is checked with `ip` as an independent reader.
/// </summary>
[NonParallelizable]
public class NetlinkAddressManagerTests : AddressManagerContract
{
    private readonly string ns = $"ipvsop-{Guid.NewGuid().ToString("N")[..8]}";
    private RouteNetlink route = null!;

    protected override IAddressManager Manager => route;
    protected override string Link => "veth0";

    [OneTimeSetUp]
    public async Task CreateNamespaceAsync()
    {
        await Run("ip", "netns", "add", ns);
        await Run("ip", "-n", ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1");
        route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{ns}", NetlinkConstants.NetlinkRoute));
    }

    [OneTimeTearDown]
    public async Task RemoveNamespaceAsync()
    {
        route?.Dispose();
        await Run("ip", "netns", "del", ns);
    }

    [Test]
    public async Task What_the_client_adds_is_what_ip_shows()
    {
        route.AddAddress(Link, IPAddressValue.Parse("198.51.100.7"));

        (await Run("ip", "-n", ns, "-o", "addr", "show", "dev", Link)).Should().Contain("inet 198.51.100.7/32");
        route.RemoveAddress(Link, IPAddressValue.Parse("198.51.100.7"));
        (await Run("ip", "-n", ns, "-o", "addr", "show", "dev", Link)).Should().NotContain("198.51.100.7");
    }

    [Test]
    public async Task A_refreshed_address_carries_its_lifetime_and_an_IPv6_one_skips_duplicate_address_detection()
    {
        await Run("ip", "-n", ns, "link", "set", Link, "up");
        await Run("ip", "-n", ns, "link", "set", "veth1", "up");
        route.RefreshAddress(Link, IPAddressValue.Parse("198.51.100.8"), TimeSpan.FromSeconds(30));
        route.RefreshAddress(Link, IPAddressValue.Parse("2001:db8::8"), TimeSpan.FromSeconds(30));

        var shown = await Run("ip", "-n", ns, "-o", "addr", "show", "dev", Link);

        shown.Should().MatchRegex(@"inet 198\.51\.100\.8/32 .*valid_lft (29|30)sec preferred_lft (29|30)sec", "the kernel removes it by itself unless refreshed");
        shown.Should().MatchRegex(@"inet6 2001:db8::8/128 .*valid_lft (29|30)sec");
        shown.Split('\n').Single(l => l.Contains("2001:db8::8")).Should().NotContain("tentative", "usable at once: no duplicate address detection");
        route.RemoveAddress(Link, IPAddressValue.Parse("198.51.100.8"));
        route.RemoveAddress(Link, IPAddressValue.Parse("2001:db8::8"));
    }

    [Test]
    public async Task The_default_routes_interface_is_found_and_none_without_a_default_route()
    {
        route.DefaultRouteLink(IPFamily.IPv4).Should().BeNull("there is no default route yet");
        await Run("ip", "-n", ns, "link", "set", "veth1", "up");
        await Run("ip", "-n", ns, "link", "set", Link, "up");
        await Run("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "veth1");
        await Run("ip", "-n", ns, "route", "add", "default", "via", "192.0.2.254", "dev", "veth1");

        route.DefaultRouteLink(IPFamily.IPv4).Should().Be("veth1");
        route.DefaultRouteLink(IPFamily.IPv6).Should().BeNull("only IPv4 has one");
        await Run("ip", "-n", ns, "route", "del", "default");
        await Run("ip", "-n", ns, "addr", "del", "192.0.2.1/24", "dev", "veth1");
    }

    [Test]
    public void The_namespace_is_not_the_host()
    {
        route.ListLinks().Select(l => l.Name).Should().BeEquivalentTo(["lo", "veth0", "veth1"], "only the links made in the test's own namespace");
    }

    private static async Task<string> Run(string file, params string[] arguments)
    {
        var result = await Processes.RunAsync(file, arguments);
        result.ExitCode.Should().Be(0, $"{file} {string.Join(' ', arguments)}: {result.Error}");
        return result.Output;
    }
}
