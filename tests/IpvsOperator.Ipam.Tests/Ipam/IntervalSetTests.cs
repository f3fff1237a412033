using IpvsOperator.Ipam;

namespace IpvsOperator.Tests.Ipam;

public class IntervalSetTests
{
    [Test]
    public void Behaves_like_a_plain_set_under_random_adds_and_removes([Values(1, 2, 3)] int seed)
    {
        var random = new Random(seed);
        var set = new IntervalSet();
        var model = new SortedSet<int>();
        for (var step = 0; step < 20_000; step++)
        {
            var value = random.Next(0, 300);
            if (random.Next(2) == 0)
            {
                set.Add((UInt128)value).Should().Be(model.Add(value));
            }
            else
            {
                set.Remove((UInt128)value).Should().Be(model.Remove(value));
            }
            if (step % 97 == 0)
            {
                set.Count.Should().Be(model.Count);
                set.Members().Select(m => (int)m).Should().Equal(model);
                var from = random.Next(0, 300);
                var last = from + random.Next(0, 30);
                var expected = Enumerable.Range(from, last - from + 1).Where(v => !model.Contains(v)).Select(v => (int?)v).FirstOrDefault();
                set.FirstAbsent((UInt128)from, (UInt128)last).Should().Be(expected is null ? null : (UInt128)expected.Value);
                set.IntervalCount.Should().Be(CountRuns(model), "adjacent members are merged into one interval");
            }
        }
    }

    [Test]
    public void Handles_the_ends_of_the_number_space()
    {
        var set = new IntervalSet();
        set.Add(UInt128.MaxValue).Should().BeTrue();
        set.Add(UInt128.Zero).Should().BeTrue();
        set.Add(UInt128.MaxValue - 1).Should().BeTrue();
        set.IntervalCount.Should().Be(2);
        set.FirstAbsent(UInt128.MaxValue - 1, UInt128.MaxValue).Should().BeNull();
        set.FirstAbsent(UInt128.Zero, UInt128.MaxValue).Should().Be(UInt128.One);
        set.Remove(UInt128.MaxValue).Should().BeTrue();
        set.FirstAbsent(UInt128.MaxValue - 1, UInt128.MaxValue).Should().Be(UInt128.MaxValue);
    }

    private static int CountRuns(SortedSet<int> values)
    {
        var runs = 0;
        int? previous = null;
        foreach (var value in values)
        {
            if (previous != value - 1)
            {
                runs++;
            }
            previous = value;
        }
        return runs;
    }
}
