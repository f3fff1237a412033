using BenchmarkDotNet.Attributes;
using IpvsOperator.Ipam;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// What the IPPool webhook computes for a pool of many entries, against 100 other pools: parsing
/// every entry, the overlaps within the pool and with the others, and the denial message. Target
/// (issue 16): a pool of 10,000 entries in under 1 s and 50 MB. "Distinct" is a valid pool,
/// "One address" the attack seen (every entry the same address: each entry overlaps all others),
/// "Overlaps others" every entry inside another pool.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 10)]
public class PoolValidationBenchmarks
{
    private List<string> entries = [];
    private List<Pool> others = [];

    [Params(1_000, 10_000)]
    public int Entries { get; set; }

    [Params("Distinct", "One address", "Overlaps others")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        entries = Shape switch
        {
            "One address" => [.. Enumerable.Repeat("198.51.100.7", Entries)],
            "Overlaps others" => [.. Enumerable.Range(0, Entries).Select(i => $"10.{i / 256 % 100}.{i % 256}.1")],
            _ => [.. Enumerable.Range(0, Entries).Select(i => $"172.{16 + i / 65536}.{i / 256 % 256}.{i % 256}")],
        };
        others = [.. Enumerable.Range(0, 100).Select(i => Pool.Parse($"other-{i}", [$"10.{i}.0.0/16"]).Pool!)];
    }

    [Benchmark(Description = "validate: parse, overlaps within and with 100 pools, message")]
    public int Validate()
    {
        var parsed = Pool.Parse("candidate", entries);
        if (!parsed.Succeeded)
        {
            return string.Join("; ", parsed.Errors).Length;
        }
        var overlaps = PoolOverlaps.Between(parsed.Pool!, others);
        return overlaps.Any ? overlaps.ToString().Length : 0;
    }
}
