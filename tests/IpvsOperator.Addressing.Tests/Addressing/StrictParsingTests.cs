using IpvsOperator.Addressing;
using IpvsOperator.Ipam;

namespace IpvsOperator.Tests.Addressing;

/// <summary>
/// Addresses are read strictly: what inet_aton would read as another address is refused, and a
/// pool entry must be written as it is shown, holding no special-purpose address.
/// </summary>
public class StrictParsingTests
{
    [TestCase("010.0.0.1", Description = "octal to inet_aton: 8.0.0.1")]
    [TestCase("0x0b.0.0.0", Description = "hex: 11.0.0.0")]
    [TestCase("1.2.3", Description = "shortened")]
    [TestCase("192.0.2.256")]
    [TestCase("192.0.2.1 ")]
    [TestCase("+1.2.3.4")]
    [TestCase("1.2.3.04")]
    [TestCase("[2001:db8::2]")]
    [TestCase("[2001:db8::2]:80")]
    [TestCase("192.0.2.1:80")]
    [TestCase("fe80::1%eth0")]
    [TestCase("::ffff:010.0.0.1", Description = "an embedded IPv4 part follows the IPv4 rules")]
    [TestCase("2001:db8::/64")]
    public void Ambiguous_or_decorated_addresses_are_not_addresses(string text) =>
        IPAddressValue.TryParse(text, out _).Should().BeFalse();

    [TestCase("0.0.0.0")]
    [TestCase("192.0.2.10")]
    [TestCase("255.255.255.255")]
    [TestCase("2001:db8::a")]
    [TestCase("2001:DB8::A")]
    [TestCase("::ffff:192.0.2.1")]
    public void Plain_addresses_are(string text) => IPAddressValue.TryParse(text, out _).Should().BeTrue();

    [TestCase("2001:DB8::/120", "write 2001:db8::/120")]
    [TestCase("2001:db8:0:0::1", "write 2001:db8::1")]
    [TestCase("2001:db8::a-2001:db8::0:f", "write 2001:db8::a-2001:db8::f")]
    public void A_pool_entry_not_written_canonically_is_refused_with_the_canonical_form(string entry, string suggestion) =>
        Pool.Parse("p", [entry]).Errors.Should().ContainSingle().Which.Should().Contain($"'{entry}' is not written canonically; {suggestion}");

    [TestCase("0.0.0.0/0", "0.0.0.0/8", "unspecified")]
    [TestCase("127.0.0.1", "127.0.0.0/8", "loopback")]
    [TestCase("169.254.10.0/24", "169.254.0.0/16", "link-local")]
    [TestCase("239.1.1.1", "224.0.0.0/4", "multicast")]
    [TestCase("255.255.255.255", "255.255.255.255", "broadcast")]
    [TestCase("::/0", "::/128", "unspecified")]
    [TestCase("::1", "::1/128", "loopback")]
    [TestCase("fe80::/64", "fe80::/10", "link-local")]
    [TestCase("ff02::1", "ff00::/8", "multicast")]
    [TestCase("::ffff:c000:200/124", "::ffff:0:0/96", "IPv4-mapped")]
    public void A_pool_entry_with_special_purpose_addresses_is_refused_saying_which(string entry, string special, string kind)
    {
        var error = Pool.Parse("p", [entry]).Errors.Should().ContainSingle().Subject;

        error.Should().Contain(special).And.Contain(kind).And.Contain("cannot be load-balancer VIPs");
    }

    [Test]
    public void A_broadcast_only_where_it_is_one_a_pool_may_end_in_255()
    {
        Pool.Parse("p", ["192.0.2.0/24", "198.51.100.255"]).Succeeded.Should().BeTrue("x.y.z.255 is a broadcast address only on a /24 the pool does not know of; avoidBuggyIPs skips them");
    }
}
