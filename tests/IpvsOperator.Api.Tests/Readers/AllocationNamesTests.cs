using IpvsOperator.Addressing;
using IpvsOperator.Readers;

namespace IpvsOperator.Tests.Readers;

public class AllocationNamesTests
{
    [TestCase("192.0.2.10", "ipv4-192-0-2-10")]
    [TestCase("0.0.0.0", "ipv4-0-0-0-0")]
    [TestCase("2001:db8::a", "ipv6-2001-db8--a")]
    [TestCase("2001:db8::", "ipv6-2001-db8--0")]
    [TestCase("::1", "ipv6---1")]
    [TestCase("::", "ipv6---0")]
    [TestCase("::ffff:192.0.2.1", "ipv6---ffff-c000-201")]
    [TestCase("2001:db8:0:0:1:0:0:1", "ipv6-2001-db8--1-0-0-1")]
    [TestCase("2001:0:0:1:0:0:0:1", "ipv6-2001-0-0-1--1")]
    public void Names_an_address_and_reads_it_back(string address, string name)
    {
        var value = IPAddressValue.Parse(address);

        AllocationNames.For(value).Should().Be(name);
        AllocationNames.TryParse(name, out var back).Should().BeTrue();
        back.Should().Be(value);
    }

    [TestCase("ipv4-010-0-0-1")]
    [TestCase("ipv4-192-0-2")]
    [TestCase("ipv6-2001-DB8--a")]
    [TestCase("ipv6-2001-db8-0-0-0-0-0-a")]
    [TestCase("ipv6-192-0-2-1")]
    [TestCase("ipv4-2001-db8--a")]
    [TestCase("pool-a")]
    [TestCase("")]
    public void Rejects_names_that_are_not_the_canonical_name_of_an_address(string name)
    {
        AllocationNames.TryParse(name, out _).Should().BeFalse();
    }

    [Test]
    public void Every_random_address_round_trips_to_a_valid_object_name()
    {
        var random = new Random(20261126);
        var dns1123 = new System.Text.RegularExpressions.Regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            // Zero runs of random length exercise the "::" compression at every position.
            var zeroStart = random.Next(0, 16);
            Array.Clear(bytes, zeroStart, random.Next(0, 16 - zeroStart + 1));
            var value = i % 2 == 0
                ? new IPAddressValue(IPFamily.IPv4, BitConverter.ToUInt32(bytes))
                : new IPAddressValue(IPFamily.IPv6, new UInt128(BitConverter.ToUInt64(bytes, 0), BitConverter.ToUInt64(bytes, 8)));

            var name = AllocationNames.For(value);

            name.Should().MatchRegex(dns1123);
            AllocationNames.TryParse(name, out var back).Should().BeTrue(name);
            back.Should().Be(value);
            IPAddressValue.Parse(value.ToString()).Should().Be(value, "the text form is canonical and parses back");
            value.ToIPAddress().Should().Be(System.Net.IPAddress.Parse(value.ToString()));
        }
    }
}
