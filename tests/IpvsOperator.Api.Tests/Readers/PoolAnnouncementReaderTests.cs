using IpvsOperator.Entities;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Tests.Readers;

/// <summary>A pool's aggregation length against its own addresses, as MetalLB checks it.</summary>
public class PoolAnnouncementReaderTests
{
    private static (PoolAnnouncementSettings Settings, IReadOnlyList<string> Errors) Read(int? v4, int? v6, params string[] addresses) =>
        PoolAnnouncementReader.Read(new V1Alpha1IPPool
        {
            Metadata = new V1ObjectMeta { Name = "p" },
            Spec = new IPPoolSpec { Addresses = [.. addresses], Announce = new PoolAnnouncement { Bgp = new PoolBgpAnnouncement { AggregationLength = v4, AggregationLengthV6 = v6 } } },
        });

    [TestCase("198.51.100.0/28", 28)]
    [TestCase("198.51.100.0/28", 32)]
    [TestCase("198.51.100.0/24", 26)]
    [TestCase("198.51.100.5", 32)]
    public void An_aggregation_as_long_as_the_pool_s_prefixes_or_longer_is_taken(string addresses, int length)
    {
        var (settings, errors) = Read(length, null, addresses);
        errors.Should().BeEmpty();
        settings.AggregationLength.Should().Be(length);
    }

    [TestCase("198.51.100.0/28", 27, "spec.announce.bgp.aggregationLength 27 is shorter than the pool's prefix 198.51.100.0/28: every node would announce 198.51.100.0/27, addresses outside the pool; valid: 28 to 32")]
    // A range counts as the fewest CIDRs covering it: .0/28 and .16/31, so nothing shorter than 31.
    [TestCase("198.51.100.0-198.51.100.17", 28, "spec.announce.bgp.aggregationLength 28 is shorter than the pool's prefix 198.51.100.16/31: every node would announce 198.51.100.16/28, addresses outside the pool; valid: 31 to 32")]
    [TestCase("198.51.100.7", 31, "spec.announce.bgp.aggregationLength 31 is shorter than the pool's prefix 198.51.100.7/32: every node would announce 198.51.100.6/31, addresses outside the pool; valid: 32 to 32")]
    [TestCase("198.51.100.0/28", 33, "spec.announce.bgp.aggregationLength 33 is not a prefix length; valid: 28 to 32")]
    public void A_shorter_aggregation_is_refused_naming_the_value_the_prefix_and_what_is_valid_and_only_it_is_dropped(string addresses, int length, string error)
    {
        var (settings, errors) = Read(length, 124, addresses, "2001:db8::/120");
        errors.Should().Equal(error);
        settings.AggregationLength.Should().BeNull("each address is announced alone");
        settings.AggregationLengthV6.Should().Be(124, "the IPv6 aggregation fits the IPv6 prefix and stays");
    }

    [Test]
    public void The_IPv6_aggregation_is_held_to_the_IPv6_entries() =>
        Read(null, 64, "198.51.100.0/28", "2001:db8::/120").Errors.Should().Equal(
            "spec.announce.bgp.aggregationLengthV6 64 is shorter than the pool's prefix 2001:db8::/120: every node would announce 2001:db8::/64, addresses outside the pool; valid: 120 to 128");
}
