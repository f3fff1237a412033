using System.Numerics;
using IpvsOperator.Addressing;
using IpvsOperator.Ipam;

namespace IpvsOperator.Tests.Ipam;

/// <summary>
/// Long random sequences of allocate, request, share, release and pool edits over random small
/// pools, checked after every step against brute force: no address is given to two Services
/// unless they may share it, nothing new lands outside its pool or on a skipped address, a fresh
/// allocation is the first free usable address, and the counts equal a recount.
/// </summary>
public class AllocatorPropertyTests
{
    private static readonly string[] Keys = ["k1", "k2"];

    [Test]
    public void Random_operation_sequences_keep_every_invariant([Range(1, 12)] int seed)
    {
        var random = new Random(seed);
        var allocator = new Allocator();
        var pools = RandomPools(random);
        allocator.SetPools(pools).Should().BeEmpty();
        var services = Enumerable.Range(0, 40).Select(i => new ServiceKey(i % 3 == 0 ? "prod" : "dev", $"svc{i}")).ToList();

        for (var step = 0; step < 1500; step++)
        {
            var service = services[random.Next(services.Count)];
            var operation = random.Next(100);
            if (operation < 45)
            {
                var request = RandomRequest(random, service, pools);
                var fresh = allocator.AddressesOf(service).Count == 0 && request.RequestedAddresses.Count == 0 && request.SharingKey is null;
                var expected = fresh ? ExpectedFirstFree(allocator, pools, request) : null;
                var heldBefore = allocator.AddressesOf(service);
                var result = allocator.Allocate(request);
                CheckResult(allocator, pools, request, result, heldBefore);
                if (fresh && result.Succeeded)
                {
                    ((IPAddressValue?)result.Addresses.Single().Address).Should().Be(expected, $"step {step}: a fresh allocation takes the first free usable address");
                }
                if (fresh && !result.Succeeded)
                {
                    expected.Should().BeNull($"step {step}: {result.Failure} although {expected} was free");
                }
            }
            else if (operation < 80)
            {
                var before = allocator.AddressesOf(service);
                allocator.Release(service).Should().BeEquivalentTo(before);
                allocator.AddressesOf(service).Should().BeEmpty();
            }
            else if (operation < 85)
            {
                pools = MutatePools(random, pools);
                allocator.SetPools(pools).Should().BeEmpty();
            }
            else
            {
                // Re-allocating an unchanged request keeps the address (no reshuffling).
                var held = allocator.AddressesOf(service);
                if (held.Count == 1 && allocator.ClaimOf(held[0]) is { Pool: not null } claim && claim.Holders.Count == 1)
                {
                    var request = new ServiceRequest { Service = service, Families = [held[0].Family], Pool = claim.Pool, SharingKey = claim.SharingKey, Ports = claim.Holders[service] };
                    var again = allocator.Allocate(request);
                    if (again.Succeeded)
                    {
                        again.Addresses.Single().Address.Should().Be(held[0]);
                        again.Changed.Should().BeFalse();
                    }
                }
            }
            CheckInvariants(allocator, pools, services, step);
        }
    }

    private static List<Pool> RandomPools(Random random)
    {
        var pools = new List<Pool>();
        var nextV4 = (uint)(random.Next(0, 3) * 256 + 0xC0000200);
        for (var i = 0; i < random.Next(2, 5); i++)
        {
            var ranges = new List<AddressRange>();
            var size = (uint)random.Next(1, 300);
            ranges.Add(new AddressRange(new IPAddressValue(IPFamily.IPv4, nextV4), new IPAddressValue(IPFamily.IPv4, nextV4 + size - 1)));
            nextV4 += size + (uint)random.Next(0, 10);
            if (random.Next(2) == 0)
            {
                var v6 = (UInt128.One << 127) + (UInt128)(i * 1000);
                ranges.Add(new AddressRange(new IPAddressValue(IPFamily.IPv6, v6), new IPAddressValue(IPFamily.IPv6, v6 + (UInt128)random.Next(0, 20))));
            }
            var scope = random.Next(4) == 0 ? new ServiceScope(Namespaces: new HashSet<string> { "prod" }) : null;
            pools.Add(new Pool($"p{i}", ranges, AutoAssign: random.Next(5) > 0, AvoidBuggyIPs: random.Next(2) == 0, Priority: random.Next(0, 3), Scope: scope));
        }
        return pools;
    }

    /// <summary>Grow or shrink one range of one pool, keeping pools disjoint.</summary>
    private static List<Pool> MutatePools(Random random, List<Pool> pools)
    {
        var index = random.Next(pools.Count);
        var pool = pools[index];
        var range = pool.Ranges[0];
        var last = range.Last.Value + (UInt128)random.Next(-20, 20);
        last = last < range.First.Value ? range.First.Value : last;
        var changed = new AddressRange(range.First, range.First with { Value = last });
        var others = pools.Where((_, i) => i != index).SelectMany(p => p.Ranges);
        if (others.Any(r => r.Overlaps(changed)))
        {
            return pools;
        }
        var copy = new List<Pool>(pools) { [index] = pool with { Ranges = [changed, .. pool.Ranges.Skip(1)], AvoidBuggyIPs = random.Next(2) == 0 } };
        return copy;
    }

    private static ServiceRequest RandomRequest(Random random, ServiceKey service, List<Pool> pools)
    {
        var family = random.Next(5) == 0 ? IPFamily.IPv6 : IPFamily.IPv4;
        var requested = new List<IPAddressValue>();
        if (random.Next(4) == 0)
        {
            var range = pools[random.Next(pools.Count)].Ranges[0];
            // Sometimes just outside the range, to exercise refusals.
            var offset = random.Next(-2, (int)Math.Min(300, (long)(range.Last.Value - range.First.Value)) + 3);
            var value = offset < 0 ? range.First.Value - (UInt128)(-offset) : range.First.Value + (UInt128)offset;
            requested.Add(new IPAddressValue(IPFamily.IPv4, value));
            family = IPFamily.IPv4;
        }
        var ports = Enumerable.Range(0, random.Next(1, 3)).Select(_ => new ServicePort((PortProtocol)random.Next(3), random.Next(80, 84))).Distinct().ToList();
        return new ServiceRequest
        {
            Service = service,
            Families = [family],
            RequestedAddresses = requested,
            Pool = random.Next(6) == 0 ? pools[random.Next(pools.Count)].Name : null,
            SharingKey = random.Next(3) == 0 ? Keys[random.Next(Keys.Length)] : null,
            Ports = ports,
        };
    }

    private static IPAddressValue? ExpectedFirstFree(Allocator allocator, List<Pool> pools, ServiceRequest request)
    {
        var family = request.Families[0];
        foreach (var pool in pools.OrderBy(p => p.Priority).ThenBy(p => p.Name, StringComparer.Ordinal))
        {
            if ((request.Pool is not null && request.Pool != pool.Name) || (request.Pool is null && !pool.AutoAssign)
                || pool.EffectiveScope.Refuses(request) is not null)
            {
                continue;
            }
            foreach (var range in pool.Ranges.Where(r => r.Family == family))
            {
                foreach (var address in Enumerate(range))
                {
                    if (!(pool.AvoidBuggyIPs && address.IsBuggy) && allocator.ClaimOf(address) is null)
                    {
                        return address;
                    }
                }
            }
        }
        return null;
    }

    private static void CheckResult(Allocator allocator, List<Pool> pools, ServiceRequest request, AllocationResult result, IReadOnlyList<IPAddressValue> heldBefore)
    {
        if (!result.Succeeded)
        {
            result.Failure!.Message.Should().NotBeNullOrWhiteSpace();
            return;
        }
        foreach (var assignment in result.Addresses)
        {
            var pool = pools.Single(p => p.Name == assignment.Pool);
            pool.Ranges.Should().Contain(r => r.Contains(assignment.Address), "a new address lies in the pool it is reported from");
            var isNew = !heldBefore.Contains(assignment.Address);
            (isNew && pool.AvoidBuggyIPs && assignment.Address.IsBuggy).Should().BeFalse("a pool avoiding buggy IPs never hands out .0 or .255 anew");
            if (request.Pool is not null)
            {
                assignment.Pool.Should().Be(request.Pool);
            }
            allocator.ClaimOf(assignment.Address)!.Holders.Should().ContainKey(request.Service);
        }
        foreach (var address in request.RequestedAddresses)
        {
            result.Addresses.Select(a => a.Address).Should().Contain(address);
        }
    }

    private static void CheckInvariants(Allocator allocator, List<Pool> pools, List<ServiceKey> services, int step)
    {
        var byService = new Dictionary<ServiceKey, List<IPAddressValue>>();
        foreach (var claim in allocator.Claims)
        {
            claim.Holders.Should().NotBeEmpty($"step {step}: an empty claim is released");
            if (claim.Holders.Count > 1)
            {
                claim.SharingKey.Should().NotBeNull($"step {step}: only keyed addresses are shared");
                var ports = claim.Holders.Values.SelectMany(p => p).ToList();
                ports.Should().OnlyHaveUniqueItems($"step {step}: sharers of {claim.Address} never clash");
            }
            foreach (var holder in claim.Holders.Keys)
            {
                (byService.TryGetValue(holder, out var list) ? list : byService[holder] = []).Add(claim.Address);
            }
            var owner = pools.SingleOrDefault(p => p.Ranges.Any(r => r.Contains(claim.Address)));
            claim.Pool.Should().Be(owner?.Name, $"step {step}: {claim.Address} is homed in the pool that holds it");
        }
        foreach (var service in services)
        {
            var held = allocator.AddressesOf(service);
            held.Should().BeEquivalentTo(byService.GetValueOrDefault(service) ?? [], $"step {step}: {service}'s holdings match the claims");
            held.GroupBy(a => a.Family).All(g => g.Count() == 1).Should().BeTrue($"step {step}: one address per family");
        }
        foreach (var pool in pools)
        {
            foreach (var family in pool.Ranges.Select(r => r.Family).Distinct())
            {
                var addresses = pool.Ranges.Where(r => r.Family == family).SelectMany(Enumerate).ToList();
                var usable = addresses.Where(a => !(pool.AvoidBuggyIPs && a.IsBuggy)).ToList();
                var claimed = addresses.Count(a => allocator.ClaimOf(a) is not null);
                var claimedUsable = usable.Count(a => allocator.ClaimOf(a) is not null);
                allocator.Usage(pool.Name).Single(u => u.Family == family).Should().Be(
                    new FamilyUsage(family, usable.Count, claimed, new BigInteger(usable.Count - claimedUsable)), $"step {step}: counts of {pool.Name}");
            }
        }
    }

    private static IEnumerable<IPAddressValue> Enumerate(AddressRange range)
    {
        for (var value = range.First.Value; value <= range.Last.Value; value++)
        {
            yield return range.First with { Value = value };
        }
    }
}
