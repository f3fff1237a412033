using System.Numerics;
using IpvsOperator.Addressing;
using IpvsOperator.Ipam;

namespace IpvsOperator.Tests.Addressing;

public class AddressRangeTests
{
    [TestCase("192.0.2.0/28", "192.0.2.0", "192.0.2.15", 16)]
    [TestCase("192.0.2.10-192.0.2.20", "192.0.2.10", "192.0.2.20", 11)]
    [TestCase(" 192.0.2.10 - 192.0.2.20 ", "192.0.2.10", "192.0.2.20", 11)]
    [TestCase("192.0.2.7", "192.0.2.7", "192.0.2.7", 1)]
    [TestCase("192.0.2.7/32", "192.0.2.7", "192.0.2.7", 1)]
    [TestCase("0.0.0.0/0", "0.0.0.0", "255.255.255.255", 4294967296)]
    [TestCase("2001:db8::/120", "2001:db8::", "2001:db8::ff", 256)]
    [TestCase("2001:db8::10-2001:db8::1f", "2001:db8::10", "2001:db8::1f", 16)]
    [TestCase("2001:DB8::/127", "2001:db8::", "2001:db8::1", 2)]
    public void Parses_valid_forms(string text, string first, string last, long size)
    {
        var range = AddressRange.Parse(text);

        range.First.ToString().Should().Be(first);
        range.Last.ToString().Should().Be(last);
        range.Size.Should().Be(new BigInteger(size));
    }

    [Test]
    public void An_IPv6_slash_64_has_two_to_the_64_addresses()
    {
        AddressRange.Parse("2001:db8:1:2::/64").Size.Should().Be(BigInteger.Pow(2, 64));
        AddressRange.Parse("::/0").Size.Should().Be(BigInteger.Pow(2, 128));
    }

    [TestCase("", "empty")]
    [TestCase("banana", "'banana' is not an IP address")]
    [TestCase("192.0.2", "'192.0.2' is not an IP address")]
    [TestCase("192.0.2.300", "'192.0.2.300' is not an IP address")]
    [TestCase("192.0.2.0/33", "an IPv4 prefix length is 0 to 32")]
    [TestCase("192.0.2.0/-1", "prefix length")]
    [TestCase("2001:db8::/129", "an IPv6 prefix length is 0 to 128")]
    [TestCase("192.0.2.5/24", "host bits set; did you mean 192.0.2.0/24?")]
    [TestCase("192.0.2.20-192.0.2.10", "starts after it ends; write it as 192.0.2.10-192.0.2.20")]
    [TestCase("192.0.2.1-2001:db8::1", "mixes IPv4 and IPv6")]
    [TestCase("192.0.2.1-", "is not a valid range")]
    [TestCase("fe80::1%eth0", "is not an IP address")]
    [TestCase("192.0.2.0/24/8", "is not a valid CIDR")]
    public void Rejects_bad_input_naming_the_value_and_what_is_valid(string text, string expected)
    {
        AddressRange.TryParse(text, out _, out var error).Should().BeFalse();

        error.Should().Contain(expected);
        if (text.Trim().Length > 0)
        {
            error.Should().Contain(text.Trim().Split('/')[0].Split('-')[0], "the message names the offending text");
        }
    }

    [Test]
    public void Overlap_is_symmetric_and_family_aware()
    {
        var a = AddressRange.Parse("192.0.2.0/28");
        var b = AddressRange.Parse("192.0.2.15-192.0.2.30");
        var c = AddressRange.Parse("192.0.2.16/28");

        a.Overlaps(b).Should().BeTrue();
        b.Overlaps(a).Should().BeTrue();
        a.Overlaps(c).Should().BeFalse();
        AddressRange.Parse("::/0").Overlaps(a).Should().BeFalse();
    }

    [Test]
    public void Usable_size_leaves_out_dot_zero_and_dot_255_only_when_asked()
    {
        var slash24 = AddressRange.Parse("192.0.2.0/24");
        slash24.UsableSize(avoidBuggy: false).Should().Be(new BigInteger(256));
        slash24.UsableSize(avoidBuggy: true).Should().Be(new BigInteger(254));
        AddressRange.Parse("10.0.0.0/8").UsableSize(avoidBuggy: true).Should().Be(new BigInteger(65536 * 254));
        AddressRange.Parse("2001:db8::/120").UsableSize(avoidBuggy: true).Should().Be(new BigInteger(256), "IPv6 has no buggy addresses");
    }

    [Test]
    public void Buggy_aware_offsets_agree_with_a_brute_force_walk([Values(0u, 1u, 200u, 255u, 256u, 16777000u)] uint start)
    {
        var random = new Random((int)start);
        for (var trial = 0; trial < 40; trial++)
        {
            var first = start + (uint)random.Next(0, 300);
            var last = first + (uint)random.Next(0, 700);
            var range = new AddressRange(new IPAddressValue(IPFamily.IPv4, first), new IPAddressValue(IPFamily.IPv4, last));
            var space = new RangeSpace(range, avoidBuggy: true);
            var usable = Enumerable.Range(0, (int)(last - first + 1)).Select(i => range.First.Add((UInt128)i)).Where(a => !a.IsBuggy).ToList();

            space.IsEmpty.Should().Be(usable.Count == 0);
            range.UsableSize(true).Should().Be(new BigInteger(usable.Count));
            for (var offset = 0; offset < usable.Count; offset++)
            {
                space.AddressAt((UInt128)offset).Should().Be(usable[offset]);
                space.TryOffsetOf(usable[offset], out var back).Should().BeTrue();
                back.Should().Be((UInt128)offset);
            }
            if (usable.Count > 0)
            {
                space.LastOffset.Should().Be((UInt128)(usable.Count - 1));
            }
        }
    }
}
