using BenchmarkDotNet.Attributes;
using IpvsOperator.Addressing;
using IpvsOperator.Ipam;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// The allocator's cost per operation must not depend on pool size, and may grow at most 1.5x from
/// 1,000 to 100,000 allocated addresses. Pools are an IPv4 /8 (avoiding buggy IPs) and an IPv6 /64:
/// far too large to enumerate. "Fragmented" allocates twice as many and frees every other one, so
/// the allocated set is 100,000 separate runs rather than one.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 3, iterationCount: 15)]
public class AllocatorBenchmarks
{
    private Allocator allocator = null!;
    private ServiceRequest fresh = null!;
    private ServiceRequest requested = null!;
    private ServiceKey lookupService;
    private IPAddressValue lookupAddress;

    [Params(1_000, 100_000)]
    public int Allocated { get; set; }

    [Params("IPv4 /8", "IPv6 /64")]
    public string Pool { get; set; } = "";

    [Params(false, true)]
    public bool Fragmented { get; set; }

    private IPFamily Family => Pool.StartsWith("IPv6", StringComparison.Ordinal) ? IPFamily.IPv6 : IPFamily.IPv4;

    [GlobalSetup]
    public void Setup()
    {
        (allocator, var keys) = AllocatorFixture.Build(Family, Allocated, Fragmented);
        lookupService = keys[keys.Count / 2];
        lookupAddress = allocator.AddressesOf(lookupService)[0];
        fresh = new ServiceRequest { Service = new ServiceKey("bench", "fresh"), Families = [Family] };
        // A specific free address far into the pool.
        var far = AddressRange.Parse(AllocatorFixture.PoolText(Family)).First.Add((UInt128)Allocated * 4 + 7);
        requested = fresh with { RequestedAddresses = [far] };
    }

    [Benchmark(Description = "allocate first free + release")]
    public int AllocateFirstFree()
    {
        var result = allocator.Allocate(fresh);
        allocator.Release(fresh.Service);
        return result.Addresses.Count;
    }

    [Benchmark(Description = "allocate requested + release")]
    public int AllocateRequested()
    {
        var result = allocator.Allocate(requested);
        allocator.Release(requested.Service);
        return result.Addresses.Count;
    }

    [Benchmark(Description = "re-allocate held (no-op)")]
    public bool ReallocateHeld() =>
        allocator.Allocate(new ServiceRequest { Service = lookupService, Families = [Family] }).Changed;

    [Benchmark(Description = "lookup address + service")]
    public int Lookup() => allocator.AddressesOf(lookupService).Count + (allocator.PoolOf(lookupAddress) is null ? 0 : 1);
}

/// <summary>
/// Memory retained by an allocator holding N addresses, for pools of very different sizes: it
/// must follow N and not the pool. Bytes are measured by the BenchmarkDotNet memory diagnoser as
/// what building the state allocates.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 1, iterationCount: 5, invocationCount: 1)]
public class AllocatorMemoryBenchmarks
{
    [Params(1_000, 100_000)]
    public int Allocated { get; set; }

    [Params("IPv4 /24-per-1000", "IPv4 /8", "IPv6 /64", "IPv6 /32")]
    public string Pool { get; set; } = "";

    [Benchmark(Description = "build state")]
    public Allocator Build()
    {
        var text = Pool switch
        {
            "IPv4 /8" => "10.0.0.0/8",
            "IPv6 /64" => "2001:db8::/64",
            "IPv6 /32" => "2001:db8::/32",
            // The smallest IPv4 pool that holds N: the baseline a pool-sized structure would need.
            _ => Allocated <= 1_000 ? "10.0.0.0/22" : "10.0.0.0/15",
        };
        var allocator = new Allocator();
        allocator.SetPools([Ipam.Pool.Parse("bench", [text]).Pool!]);
        var family = text.Contains(':', StringComparison.Ordinal) ? IPFamily.IPv6 : IPFamily.IPv4;
        for (var i = 0; i < Allocated; i++)
        {
            allocator.Allocate(new ServiceRequest { Service = new ServiceKey("bench", $"s{i}"), Families = [family] });
        }
        return allocator;
    }
}

internal static class AllocatorFixture
{
    public static string PoolText(IPFamily family) => family == IPFamily.IPv6 ? "2001:db8::/64" : "10.0.0.0/8";

    public static (Allocator Allocator, List<ServiceKey> Keys) Build(IPFamily family, int allocated, bool fragmented)
    {
        var allocator = new Allocator();
        allocator.SetPools([Ipam.Pool.Parse("bench", [PoolText(family)], avoidBuggyIPs: family == IPFamily.IPv4).Pool!]);
        var keys = new List<ServiceKey>();
        var count = fragmented ? allocated * 2 : allocated;
        for (var i = 0; i < count; i++)
        {
            var key = new ServiceKey("bench", $"s{i}");
            allocator.Allocate(new ServiceRequest { Service = key, Families = [family] });
            if (fragmented && i % 2 == 0)
            {
                continue;
            }
            keys.Add(key);
        }
        if (fragmented)
        {
            for (var i = 0; i < count; i += 2)
            {
                allocator.Release(new ServiceKey("bench", $"s{i}"));
            }
        }
        return (allocator, keys);
    }
}
