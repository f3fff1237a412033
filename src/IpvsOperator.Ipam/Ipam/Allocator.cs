using System.Numerics;
using IpvsOperator.Addressing;

namespace IpvsOperator.Ipam;

/// <summary>
/// Hands out addresses from pools to Services: pure logic with no I/O and no Kubernetes types.
/// The controller owns one, rebuilds it from the existing claims on start-up (<see cref="Restore"/>)
/// and makes every decision through it before writing anything to the API server.
/// Allocation, release and lookup cost O(log n) in the allocated addresses and never depend on pool
/// size: free addresses are found in per-range interval sets, not by enumerating the pool.
/// Not thread-safe: the controller serialises calls.
/// </summary>
public sealed class Allocator
{
    private readonly Dictionary<IPAddressValue, Claim> claims = [];
    private readonly Dictionary<ServiceKey, List<IPAddressValue>> holdings = [];
    private readonly Dictionary<string, SortedSet<IPAddressValue>> addressesBySharingKey = new(StringComparer.Ordinal);
    private Dictionary<string, PoolState> pools = new(StringComparer.Ordinal);
    private List<PoolState> poolsByPrecedence = [];
    private Dictionary<IPFamily, RangeState[]> rangesByFamily = [];

    public IReadOnlyCollection<string> PoolNames => pools.Keys;

    /// <summary>
    /// Replaces the pools. Claims are kept, each re-homed to the pool that now holds its address
    /// (or to none). Pools come in order of precedence: one that overlaps an earlier one, or
    /// itself, is not used, and is reported with why.
    /// </summary>
    public IReadOnlyDictionary<string, string> SetPools(IEnumerable<Pool> newPools)
    {
        var rejected = new Dictionary<string, string>(StringComparer.Ordinal);
        var accepted = new Dictionary<string, PoolState>(StringComparer.Ordinal);
        foreach (var pool in newPools)
        {
            if (accepted.ContainsKey(pool.Name) || rejected.ContainsKey(pool.Name))
            {
                rejected[pool.Name] = $"IPPool {pool.Name} is listed twice";
                continue;
            }
            var problems = new[] { pool.InternalOverlaps(), PoolOverlaps.Between(pool, accepted.Values.Select(s => s.Pool)) }.Where(o => o.Any).ToList();
            if (problems.Count > 0)
            {
                rejected[pool.Name] = string.Join("; ", problems);
                continue;
            }
            accepted[pool.Name] = new PoolState(pool);
        }

        pools = accepted;
        poolsByPrecedence = [.. accepted.Values.OrderBy(p => p.Pool.Priority).ThenBy(p => p.Pool.Name, StringComparer.Ordinal)];
        rangesByFamily = accepted.Values.SelectMany(p => p.Ranges)
            .GroupBy(r => r.Space.Range.Family)
            .ToDictionary(g => g.Key, g => g.OrderBy(r => r.Space.Range.First).ToArray());
        foreach (var claim in claims.Values)
        {
            claim.Range = null;
            Home(claim);
        }
        return rejected;
    }

    /// <summary>
    /// Gives the Service what it asks for, keeping what it already holds wherever that still fits
    /// the request. All or nothing: on failure nothing changes.
    /// </summary>
    public AllocationResult Allocate(ServiceRequest request)
    {
        if (ValidateRequest(request) is { } invalid)
        {
            return invalid;
        }
        if (request.Pool is not null && !pools.ContainsKey(request.Pool))
        {
            return AllocationResult.Failed(AllocationFailureReason.PoolNotFound,
                $"IPPool '{request.Pool}' does not exist; existing pools: [{string.Join(", ", pools.Keys.Order(StringComparer.Ordinal))}]");
        }

        var held = holdings.GetValueOrDefault(request.Service) ?? [];
        var chosen = new List<AddressAssignment>();
        for (var i = 0; i < request.Families.Count; i++)
        {
            var family = request.Families[i];
            var outcome = Choose(request, family, held.Where(a => a.Family == family));
            if (outcome.Failure is not null)
            {
                var optional = i > 0 && !request.RequireAllFamilies;
                if (optional)
                {
                    continue;
                }
                return new AllocationResult([], outcome.Failure, Changed: false);
            }
            chosen.Add(outcome.Assignment!);
        }

        var changed = Commit(request, chosen.Select(c => c.Address).ToList(), held);
        return new AllocationResult(chosen, null, changed);
    }

    /// <summary>
    /// Whether the Service may go on holding <paramref name="address"/> with this request: it lies in
    /// a pool that serves the Service (and the pool it asks for, if any), it is the address asked
    /// for (if any, for its family), and no other holder's sharing rules refuse it.
    /// </summary>
    public bool Fits(ServiceRequest request, IPAddressValue address)
    {
        var requested = request.RequestedAddresses.Where(a => a.Family == address.Family).ToList();
        return request.Families.Contains(address.Family)
            && (requested.Count == 0 || requested.Contains(address))
            && Check(request, address, alreadyHeld: true).Failure is null;
    }

    /// <summary>Gives back every address the Service holds; returns them.</summary>
    public IReadOnlyList<IPAddressValue> Release(ServiceKey service)
    {
        if (!holdings.Remove(service, out var held))
        {
            return [];
        }
        foreach (var address in held)
        {
            Unhold(claims[address], service);
        }
        return held;
    }

    /// <summary>
    /// Records a claim that already exists (an IPAllocation object), as a restarted controller does
    /// before allocating anything. The address need not lie in a pool: the claim is the truth.
    /// Returns null when recorded, else why the claim contradicts one already recorded.
    /// </summary>
    public string? Restore(ServiceKey service, IPAddressValue address, string? sharingKey, IReadOnlyList<ServicePort> ports, IReadOnlySet<string>? shareWith = null)
    {
        var wanted = new HeldAddress(address, sharingKey);
        if (Refusal(service, wanted, ports, shareWith, holdings.GetValueOrDefault(service) ?? []) is { } refusal)
        {
            return refusal.Message;
        }
        Hold(address, service, sharingKey, ports, shareWith);
        return null;
    }

    /// <summary>
    /// Re-asserts what a Service holds, as MetalLB's idempotent Assign: afterwards it holds exactly
    /// those of <paramref name="addresses"/> that are its to hold, each under its sharing key and all
    /// with these ports, and nothing else it held before. As with <see cref="Restore"/> an address
    /// need not lie in a pool: the claims are the truth. An address is refused, with why, when another
    /// holder's sharing rules refuse it or an earlier one of the list is of its family; the others
    /// are held all the same, since each address is a claim of its own. Asserting the same holding
    /// again changes nothing.
    /// </summary>
    public AssignResult Assign(ServiceKey service, IReadOnlyList<HeldAddress> addresses, IReadOnlyList<ServicePort> ports, IReadOnlySet<string>? shareWith = null)
    {
        var kept = new List<HeldAddress>();
        var refused = new List<RefusedAddress>();
        foreach (var wanted in addresses.DistinctBy(a => a.Address))
        {
            if (Refusal(service, wanted, ports, shareWith, kept.Select(k => k.Address)) is { } failure)
            {
                refused.Add(new RefusedAddress(wanted.Address, failure));
            }
            else
            {
                kept.Add(wanted);
            }
        }
        // The holding is rebuilt in the order asserted; what is no longer asserted is given back.
        if (holdings.Remove(service, out var before))
        {
            foreach (var address in before.Where(a => kept.All(k => k.Address != a)))
            {
                Unhold(claims[address], service);
            }
        }
        foreach (var held in kept)
        {
            Hold(held.Address, service, held.SharingKey, ports, shareWith);
        }
        return new AssignResult([.. kept.Select(k => k.Address)], refused);
    }

    public IReadOnlyList<IPAddressValue> AddressesOf(ServiceKey service) =>
        holdings.TryGetValue(service, out var held) ? [.. held] : [];

    public ClaimInfo? ClaimOf(IPAddressValue address) =>
        claims.TryGetValue(address, out var claim) ? claim.ToInfo() : null;

    public IEnumerable<ClaimInfo> Claims => claims.Values.Select(c => c.ToInfo());

    /// <summary>The pool that holds <paramref name="address"/>, or null.</summary>
    public string? PoolOf(IPAddressValue address) => FindRange(address)?.Owner.Pool.Name;

    /// <summary>Capacity, allocated and available addresses of a pool, per family it serves.</summary>
    public IReadOnlyList<FamilyUsage> Usage(string pool)
    {
        if (!pools.TryGetValue(pool, out var state))
        {
            return [];
        }
        return [.. state.Ranges.GroupBy(r => r.Space.Range.Family).OrderBy(g => g.Key).Select(g =>
        {
            var capacity = g.Aggregate(BigInteger.Zero, (sum, r) => sum + r.Space.Range.UsableSize(r.Space.SkipsBuggy));
            var usable = g.Sum(r => r.Allocated.Count);
            return new FamilyUsage(g.Key, capacity, usable + g.Sum(r => r.UnusableClaims), capacity - usable);
        })];
    }

    private static AllocationResult? ValidateRequest(ServiceRequest request)
    {
        if (request.Families.Count == 0 || request.Families.Distinct().Count() != request.Families.Count)
        {
            return AllocationResult.Failed(AllocationFailureReason.InvalidRequest,
                $"ipFamilies [{string.Join(", ", request.Families)}] must name IPv4, IPv6 or both, each once");
        }
        foreach (var group in request.RequestedAddresses.GroupBy(a => a.Family))
        {
            if (!request.Families.Contains(group.Key))
            {
                return AllocationResult.Failed(AllocationFailureReason.InvalidRequest,
                    $"requested address {group.First()} is {group.Key}, but the Service's ipFamilies are [{string.Join(", ", request.Families)}]");
            }
            if (group.Count() > 1)
            {
                return AllocationResult.Failed(AllocationFailureReason.InvalidRequest,
                    $"requested addresses [{string.Join(", ", group)}] name more than one {group.Key} address; request at most one per family");
            }
        }
        return null;
    }

    private Choice Choose(ServiceRequest request, IPFamily family, IEnumerable<IPAddressValue> held)
    {
        var requested = request.RequestedAddresses.Where(a => a.Family == family).Select(a => (IPAddressValue?)a).FirstOrDefault();
        if (requested is { } wanted)
        {
            return Check(request, wanted, alreadyHeld: held.Contains(wanted));
        }
        // A Service keeps what it holds while that still fits: no reshuffling on pool edits.
        foreach (var address in held)
        {
            if (Check(request, address, alreadyHeld: true) is { Failure: null } kept)
            {
                return kept;
            }
        }
        if (request.SharingKey is { } key && addressesBySharingKey.TryGetValue(key, out var shared))
        {
            foreach (var address in shared.Where(a => a.Family == family))
            {
                if (Check(request, address, alreadyHeld: false) is { Failure: null } joined)
                {
                    return joined;
                }
            }
        }
        return FirstFree(request, family);
    }

    /// <summary>
    /// Whether the Service may hold <paramref name="address"/>. An address it already holds is kept
    /// even when its pool has since started to avoid buggy IPs: that rule governs new assignments.
    /// </summary>
    private Choice Check(ServiceRequest request, IPAddressValue address, bool alreadyHeld)
    {
        if (FindRange(address) is not { } range)
        {
            return Choice.Fail(AllocationFailureReason.RequestedAddressOutsidePools,
                $"requested address {address} lies in no IPPool; pools hold [{string.Join(", ", poolsByPrecedence.SelectMany(p => p.Ranges).Select(r => $"{r.Space.Range} ({r.Owner.Pool.Name})").Take(10))}]");
        }
        var pool = range.Owner.Pool;
        if (request.Pool is not null && request.Pool != pool.Name)
        {
            return Choice.Fail(AllocationFailureReason.NoPoolMatches,
                $"requested address {address} lies in IPPool {pool.Name}, but the Service asks for IPPool {request.Pool}");
        }
        if (pool.EffectiveScope.Refuses(request) is { } refusal)
        {
            return Choice.Fail(AllocationFailureReason.NoPoolMatches,
                $"address {address} lies in IPPool {pool.Name}, which does not serve Service {request.Service}: {refusal}");
        }
        if (range.Space.SkipsBuggy && address.IsBuggy && !alreadyHeld)
        {
            return Choice.Fail(AllocationFailureReason.RequestedAddressUnusable,
                $"requested address {address} ends in .0 or .255, and IPPool {pool.Name} avoids such addresses (avoidBuggyIPs)");
        }
        if (claims.TryGetValue(address, out var claim)
            && SharingConflict(claim, request.Service, request.SharingKey, request.Ports, request.SharingNamespaces) is { } conflict)
        {
            return new Choice(null, conflict);
        }
        return new Choice(new AddressAssignment(address, pool.Name), null);
    }

    private Choice FirstFree(ServiceRequest request, IPFamily family)
    {
        var refusals = new List<string>();
        var exhausted = new List<string>();
        foreach (var state in poolsByPrecedence)
        {
            var pool = state.Pool;
            if (!pool.Serves(family) || (request.Pool is not null && request.Pool != pool.Name))
            {
                continue;
            }
            if (request.Pool is null && !pool.AutoAssign)
            {
                refusals.Add($"{pool.Name}: autoAssign is false and the Service does not ask for it");
                continue;
            }
            if (pool.EffectiveScope.Refuses(request) is { } refusal)
            {
                refusals.Add($"{pool.Name}: {refusal}");
                continue;
            }
            foreach (var range in state.Ranges.Where(r => r.Space.Range.Family == family && !r.Space.IsEmpty))
            {
                if (range.Allocated.FirstAbsent(UInt128.Zero, range.Space.LastOffset) is { } offset)
                {
                    return new Choice(new AddressAssignment(range.Space.AddressAt(offset), pool.Name), null);
                }
            }
            var usage = Usage(pool.Name).Single(u => u.Family == family);
            exhausted.Add($"{pool.Name} ({usage.Allocated - usage.Available} of {usage.Capacity} in use)");
        }
        if (exhausted.Count > 0)
        {
            return Choice.Fail(AllocationFailureReason.PoolExhausted,
                $"no free {family} address: every IPPool that serves Service {request.Service} is full: {string.Join(", ", exhausted)}");
        }
        var scope = request.Pool is null ? $"serves {family} to" : $"named '{request.Pool}' serves {family} to";
        return Choice.Fail(AllocationFailureReason.NoPoolMatches,
            $"no IPPool {scope} Service {request.Service}" + (refusals.Count > 0 ? $": {string.Join("; ", refusals)}" : string.Empty));
    }

    /// <summary>
    /// Why the Service may not hold a claim on <paramref name="wanted"/> besides <paramref name="held"/>:
    /// another holder's sharing rules refuse it, or it already holds an address of that family.
    /// </summary>
    private AllocationFailure? Refusal(ServiceKey service, HeldAddress wanted, IReadOnlyList<ServicePort> ports, IReadOnlySet<string>? shareWith, IEnumerable<IPAddressValue> held)
    {
        if (claims.TryGetValue(wanted.Address, out var claim)
            && SharingConflict(claim, service, wanted.SharingKey, ports, shareWith) is { } conflict)
        {
            return conflict;
        }
        var sameFamily = held.Where(a => a.Family == wanted.Address.Family).ToList();
        return sameFamily.Count > 0 && !sameFamily.Contains(wanted.Address)
            ? new AllocationFailure(AllocationFailureReason.InvalidRequest, $"Service {service} already holds {sameFamily[0]}; it cannot hold {wanted.Address} too")
            : null;
    }

    private static bool Allows(IReadOnlySet<string>? namespaces, string ns) => namespaces is not null && (namespaces.Contains(ns) || namespaces.Contains("*"));

    private static AllocationFailure? SharingConflict(Claim claim, ServiceKey service, string? sharingKey, IReadOnlyList<ServicePort> ports, IReadOnlySet<string>? shareWith)
    {
        var others = claim.Holders.Where(h => h.Key != service).ToList();
        if (others.Count == 0)
        {
            return null;
        }
        var holders = string.Join(", ", others.Select(h => h.Key));
        if (claim.SharingKey is null)
        {
            return new AllocationFailure(AllocationFailureReason.RequestedAddressTaken,
                $"address {claim.Address} is held by Service {holders}, which does not allow sharing");
        }
        if (sharingKey is null)
        {
            return new AllocationFailure(AllocationFailureReason.RequestedAddressTaken,
                $"address {claim.Address} is shared by Service {holders} under key '{claim.SharingKey}'")
            {
                SharingKey = claim.SharingKey,
            };
        }
        if (sharingKey != claim.SharingKey)
        {
            return new AllocationFailure(AllocationFailureReason.SharingKeyMismatch,
                $"address {claim.Address} is shared under key '{claim.SharingKey}' by Service {holders}; this Service's key is '{sharingKey}'");
        }
        // A key names a group within a namespace: across namespaces both Services must say so.
        if (others.FirstOrDefault(h => h.Key.Namespace != service.Namespace
                && !(Allows(shareWith, h.Key.Namespace) && Allows(claim.ShareWith?.GetValueOrDefault(h.Key), service.Namespace))) is { Key.Name: not null } stranger)
        {
            return new AllocationFailure(AllocationFailureReason.CrossNamespaceSharing,
                $"address {claim.Address} is shared under key '{claim.SharingKey}' by Service {stranger.Key} of another namespace; sharing across namespaces needs both Services to allow it")
            {
                SharingKey = claim.SharingKey,
                Holder = stranger.Key,
            };
        }
        var clashes = others.SelectMany(h => h.Value.Intersect(ports).Select(p => $"{p} (used by {h.Key})")).ToList();
        if (clashes.Count > 0)
        {
            return new AllocationFailure(AllocationFailureReason.PortClash,
                $"address {claim.Address} cannot be shared: ports clash: {string.Join(", ", clashes)}");
        }
        return null;
    }

    /// <summary>Makes <paramref name="chosen"/> the Service's holdings; true when its addresses or sharing key changed.</summary>
    private bool Commit(ServiceRequest request, List<IPAddressValue> chosen, List<IPAddressValue> held)
    {
        var changed = !held.ToHashSet().SetEquals(chosen);
        foreach (var address in held.Except(chosen).ToList())
        {
            Unhold(claims[address], request.Service);
            held.Remove(address);
        }
        if (held.Count == 0)
        {
            holdings.Remove(request.Service);
        }
        foreach (var address in chosen)
        {
            changed |= claims.TryGetValue(address, out var claim) && claim.SharingKey != request.SharingKey;
            Hold(address, request.Service, request.SharingKey, request.Ports, request.SharingNamespaces);
        }
        return changed;
    }

    private void Hold(IPAddressValue address, ServiceKey service, string? sharingKey, IReadOnlyList<ServicePort> ports, IReadOnlySet<string>? shareWith)
    {
        if (!claims.TryGetValue(address, out var claim))
        {
            claim = new Claim(address, sharingKey);
            claims[address] = claim;
            Home(claim);
            if (sharingKey is not null)
            {
                SharingIndex(sharingKey).Add(address);
            }
        }
        else if (claim.Holders.Count == 1 && claim.Holders.ContainsKey(service) && claim.SharingKey != sharingKey)
        {
            // The only holder changed its sharing key: the claim follows it.
            SetSharingKey(claim, sharingKey);
        }
        claim.Holders[service] = [.. ports];
        if (shareWith is { Count: > 0 })
        {
            (claim.ShareWith ??= [])[service] = shareWith;
        }
        else
        {
            claim.ShareWith?.Remove(service);
        }
        var held = holdings.TryGetValue(service, out var list) ? list : holdings[service] = [];
        if (!held.Contains(address))
        {
            held.Add(address);
        }
    }

    private void Unhold(Claim claim, ServiceKey service)
    {
        claim.Holders.Remove(service);
        claim.ShareWith?.Remove(service);
        if (claim.Holders.Count > 0)
        {
            return;
        }
        claims.Remove(claim.Address);
        SetSharingKey(claim, null);
        if (claim.Range is { } range)
        {
            if (range.Space.TryOffsetOf(claim.Address, out var offset))
            {
                range.Allocated.Remove(offset);
            }
            else
            {
                range.UnusableClaims--;
            }
        }
    }

    private void SetSharingKey(Claim claim, string? key)
    {
        if (claim.SharingKey is { } old && addressesBySharingKey.TryGetValue(old, out var set))
        {
            set.Remove(claim.Address);
            if (set.Count == 0)
            {
                addressesBySharingKey.Remove(old);
            }
        }
        claim.SharingKey = key;
        if (key is not null && claims.ContainsKey(claim.Address))
        {
            SharingIndex(key).Add(claim.Address);
        }
    }

    private SortedSet<IPAddressValue> SharingIndex(string key) =>
        addressesBySharingKey.TryGetValue(key, out var set) ? set : addressesBySharingKey[key] = [];

    /// <summary>Marks a claim's address as taken in the range that holds it, if any.</summary>
    private void Home(Claim claim)
    {
        claim.Range = FindRange(claim.Address);
        if (claim.Range is not { } range)
        {
            return;
        }
        if (range.Space.TryOffsetOf(claim.Address, out var offset))
        {
            range.Allocated.Add(offset);
        }
        else
        {
            range.UnusableClaims++;
        }
    }

    private RangeState? FindRange(IPAddressValue address)
    {
        if (!rangesByFamily.TryGetValue(address.Family, out var ranges))
        {
            return null;
        }
        // Accepted ranges never overlap: the last one starting at or before the address is the only candidate.
        int low = 0, high = ranges.Length - 1, floor = -1;
        while (low <= high)
        {
            var middle = (low + high) / 2;
            if (ranges[middle].Space.Range.First <= address)
            {
                floor = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }
        return floor >= 0 && ranges[floor].Space.Range.Contains(address) ? ranges[floor] : null;
    }

    private sealed record Choice(AddressAssignment? Assignment, AllocationFailure? Failure)
    {
        public static Choice Fail(AllocationFailureReason reason, string message) => new(null, new AllocationFailure(reason, message));
    }

    private sealed class Claim(IPAddressValue address, string? sharingKey)
    {
        public IPAddressValue Address { get; } = address;
        public string? SharingKey { get; set; } = sharingKey;
        public Dictionary<ServiceKey, IReadOnlyList<ServicePort>> Holders { get; } = [];

        /// <summary>
        /// Per holder, the other namespaces whose Services it lets share the address; made only for a
        /// holder that consents to some (most claims have one holder and never need it).
        /// </summary>
        public Dictionary<ServiceKey, IReadOnlySet<string>>? ShareWith { get; set; }
        public RangeState? Range { get; set; }

        public ClaimInfo ToInfo() => new(Address, Range?.Owner.Pool.Name, SharingKey, new Dictionary<ServiceKey, IReadOnlyList<ServicePort>>(Holders));
    }

    private sealed class PoolState
    {
        public PoolState(Pool pool)
        {
            Pool = pool;
            Ranges = [.. pool.Ranges.Select(r => new RangeState(this, new RangeSpace(r, pool.AvoidBuggyIPs)))];
        }

        public Pool Pool { get; }
        public IReadOnlyList<RangeState> Ranges { get; }
    }

    private sealed class RangeState(PoolState owner, RangeSpace space)
    {
        public PoolState Owner { get; } = owner;
        public RangeSpace Space { get; } = space;
        public IntervalSet Allocated { get; } = new();

        /// <summary>Restored claims on addresses this range skips (.0/.255 in a pool avoiding them).</summary>
        public long UnusableClaims { get; set; }
    }
}
