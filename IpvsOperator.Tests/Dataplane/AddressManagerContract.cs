using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Ipam;
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
        again.Should().Throw<NetlinkException>().Which.AlreadyExists.Should().BeTrue();

        Manager.RemoveAddress(Link, address);
        Manager.ListAddresses(Link).Should().NotContain(address);
        var missing = () => Manager.RemoveAddress(Link, address);
        missing.Should().Throw<NetlinkException>().Which.ErrorNumber.Should().Be(RouteNetlink.EADDRNOTAVAIL);
    }

    [Test]
    public void A_missing_link_is_ENODEV_naming_it()
    {
        var act = () => Manager.AddAddress("no-such-link", IPAddressValue.Parse("192.0.2.1"));
        act.Should().Throw<NetlinkException>().Where(e => e.NotFound && e.Message.Contains("no-such-link"));
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
