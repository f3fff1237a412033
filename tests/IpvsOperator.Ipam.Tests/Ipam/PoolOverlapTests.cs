using IpvsOperator.Addressing;
using IpvsOperator.Ipam;

namespace IpvsOperator.Tests.Ipam;

/// <summary>Overlaps found by sorting agree with comparing every pair, and a report stays small however many there are.</summary>
public class PoolOverlapTests
{
    private static Pool Unchecked(string name, IEnumerable<string> entries) => new(name, [.. entries.Select(AddressRange.Parse)]);

    [Test]
    public void Sorting_finds_exactly_the_entries_that_comparing_every_pair_finds([Range(1, 40)] int seed)
    {
        var random = new Random(seed);
        string Entry()
        {
            var start = random.Next(0, 200);
            return random.Next(3) == 0 ? $"192.0.2.{start}" : $"192.0.2.{start}-192.0.2.{Math.Min(255, start + random.Next(0, 20))}";
        }
        var candidate = Unchecked("candidate", Enumerable.Range(0, random.Next(1, 30)).Select(_ => Entry()));
        var others = Enumerable.Range(0, random.Next(0, 5)).Select(i => Unchecked($"other-{i}", Enumerable.Range(0, random.Next(1, 10)).Select(_ => Entry()))).ToList();

        var within = PoolOverlaps.Within(candidate);
        var between = PoolOverlaps.Between(candidate, others);

        var ranges = candidate.Ranges.ToList();
        var overlappingEarlier = ranges.Select((r, i) => (r, i)).Count(x => ranges.Where((o, j) => j != x.i && o.Overlaps(x.r)
            && (o.First < x.r.First || (o.First == x.r.First && (o.Last < x.r.Last || (o.Last == x.r.Last && j < x.i))))).Any());
        within.Entries.Should().Be(overlappingEarlier, "an entry counts when it overlaps one that sorts before it");
        between.Entries.Should().Be(ranges.Count(r => others.SelectMany(o => o.Ranges).Any(o => o.Overlaps(r))));
        between.Named.All(o => o.Range.Overlaps(o.OtherRange) && o.OtherPool != "candidate").Should().BeTrue("each named pair overlaps, across pools");
        within.Named.All(o => o.Range.Overlaps(o.OtherRange)).Should().BeTrue("each named pair overlaps");
        between.Named.Should().HaveCount(Math.Min(between.Entries, OverlapReport.NamedAtMost));
    }

    [Test]
    public void A_thousand_copies_of_one_address_make_one_short_message()
    {
        var parsed = Pool.Parse("copies", Enumerable.Repeat("198.51.100.7", 1_000));

        parsed.Succeeded.Should().BeFalse();
        var message = string.Join("; ", parsed.Errors);
        message.Should().Contain("entries 198.51.100.7 and 198.51.100.7 of IPPool copies overlap").And.Contain("and 994 more of its entries overlap");
        message.Length.Should().BeLessThan(1_000, "five named, the rest counted");
    }

    [Test]
    public void Many_bad_entries_are_named_a_few_and_counted()
    {
        var errors = Pool.Parse("garbled", Enumerable.Range(0, 500).Select(i => $"nonsense-{i}")).Errors;

        errors.Should().HaveCount(OverlapReport.NamedAtMost + 1);
        errors[^1].Should().Be("and 495 more entries are refused");
    }
}
