using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Node;

/// <summary>
/// The objects a VIP's part of the desired state depends on, indexed so that one VIP's view costs
/// what that VIP holds: its claims, the Services they name, those Services' EndpointSlices. Fed
/// with every change the agent's watches see, it also records which VIPs a change touched (the
/// addresses a claim names before and after, every address claiming a changed Service), so that a
/// sync after a change rebuilds only those. A change it cannot place (a node-wide input) asks for
/// the whole. Thread-safe: the watches write while the sync loop reads.
/// </summary>
internal sealed class ClusterIndex
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string, string), V1Service> services = [];
    private readonly Dictionary<(string, string), (V1EndpointSlice Slice, (string, string) Service)> slices = [];
    private readonly Dictionary<(string, string), HashSet<(string, string)>> slicesOfService = [];
    private readonly Dictionary<string, (V1Alpha1IPAllocation Claim, IPAddressValue? Address, (string, string)[] Holders)> claims = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddressValue, HashSet<string>> claimsAt = [];
    private readonly Dictionary<(string, string), HashSet<string>> claimsNaming = [];
    private HashSet<IPAddressValue> changedVips = [];
    private HashSet<(string, string)> changedServices = [];
    private bool wholeChanged;
    private IReadOnlyList<V1Node> nodes = [];
    private IReadOnlyList<V1Alpha1IPPool> pools = [];

    /// <summary>An index of a whole view, with no change pending.</summary>
    public static ClusterIndex Of(ClusterView view)
    {
        var index = new ClusterIndex();
        index.Fill(view);
        return index;
    }

    /// <summary>Every address some claim names.</summary>
    public IReadOnlyList<IPAddressValue> Vips()
    {
        lock (gate)
        {
            return [.. claimsAt.Keys];
        }
    }

    public void Put(V1Alpha1IPAllocation claim)
    {
        lock (gate)
        {
            PutClaim(claim);
        }
    }

    public void Remove(V1Alpha1IPAllocation claim)
    {
        lock (gate)
        {
            RemoveClaim(claim?.Metadata?.Name);
        }
    }

    public void Put(V1Service service)
    {
        lock (gate)
        {
            if (KeyOf(service) is { } key)
            {
                services[key] = service;
                changedServices.Add(key);
            }
        }
    }

    public void Remove(V1Service service)
    {
        lock (gate)
        {
            if (KeyOf(service) is { } key)
            {
                services.Remove(key);
                changedServices.Add(key);
            }
        }
    }

    public void Put(V1EndpointSlice slice)
    {
        lock (gate)
        {
            PutSlice(slice);
        }
    }

    public void Remove(V1EndpointSlice slice)
    {
        lock (gate)
        {
            if (KeyOf(slice) is { } key)
            {
                RemoveSlice(key);
            }
        }
    }

    /// <summary>Something this Service's part depends on changed outside its objects (an endpoint's health verdict).</summary>
    public void Changed(string serviceNamespace, string serviceName)
    {
        lock (gate)
        {
            changedServices.Add((serviceNamespace, serviceName));
        }
    }

    /// <summary>A change that touches every VIP (a node, a pool) or that could not be placed: the next sync is whole.</summary>
    public void ChangedWhole()
    {
        lock (gate)
        {
            wholeChanged = true;
        }
    }

    /// <summary>The VIPs touched since the last call, and whether the whole must be synced; clears them.</summary>
    public VipChanges TakeChanges()
    {
        lock (gate)
        {
            var vips = changedVips;
            foreach (var service in changedServices)
            {
                foreach (var name in claimsNaming.GetValueOrDefault(service) ?? [])
                {
                    if (claims[name].Address is { } address)
                    {
                        vips.Add(address);
                    }
                }
            }
            var taken = new VipChanges(wholeChanged, vips);
            (changedVips, changedServices, wholeChanged) = ([], [], false);
            return taken;
        }
    }

    /// <summary>
    /// Replaces the whole index with a view read under its lock, dropping the pending changes: what
    /// the full sync does, so that an event the index missed or got out of order is repaired with
    /// the kernel. A change the watches deliver while the view is read lands after, as a change.
    /// </summary>
    public void Reset(Func<ClusterView> read)
    {
        lock (gate)
        {
            foreach (var table in new System.Collections.IDictionary[] { services, slices, slicesOfService, claims, claimsAt, claimsNaming })
            {
                table.Clear();
            }
            Fill(read());
            (changedVips, changedServices, wholeChanged) = ([], [], false);
        }
    }

    /// <summary>
    /// What one VIP's part of the desired state is built from: the claims on it, the Services they
    /// name and those Services' EndpointSlices, with every node and pool as the last full view had
    /// them (few, and node-wide: a change of one is <see cref="ChangedWhole"/>).
    /// </summary>
    public ClusterView ViewOf(IPAddressValue vip)
    {
        lock (gate)
        {
            var onVip = new List<V1Alpha1IPAllocation>();
            var named = new List<V1Service>();
            var theirSlices = new List<V1EndpointSlice>();
            var seen = new HashSet<(string, string)>();
            foreach (var name in claimsAt.GetValueOrDefault(vip) ?? [])
            {
                var (claim, _, holders) = claims[name];
                onVip.Add(claim);
                foreach (var holder in holders.Where(seen.Add))
                {
                    if (services.TryGetValue(holder, out var service))
                    {
                        named.Add(service);
                    }
                    theirSlices.AddRange((slicesOfService.GetValueOrDefault(holder) ?? []).Select(s => slices[s].Slice));
                }
            }
            return new ClusterView(onVip, named, theirSlices, nodes) { Pools = pools };
        }
    }

    private void Fill(ClusterView view)
    {
        (nodes, pools) = (view.Nodes, view.Pools);
        foreach (var service in view.Services)
        {
            if (KeyOf(service) is { } key)
            {
                services.TryAdd(key, service);
            }
        }
        foreach (var slice in view.EndpointSlices)
        {
            PutSlice(slice);
        }
        foreach (var claim in view.Allocations)
        {
            PutClaim(claim);
        }
    }

    private void PutClaim(V1Alpha1IPAllocation claim)
    {
        if (claim?.Metadata?.Name is not { } name)
        {
            return;
        }
        RemoveClaim(name);
        IPAddressValue? address = claim.Spec is not null && claim.TryAddress(out var vip) ? vip : null;
        // Untrusted: a claim may lack its spec, or name holders without names.
        (string, string)[] holders = claim.Spec is null ? [] : [.. claim.Holders().Where(h => h is not null).Select(h => (h.Namespace ?? string.Empty, h.Name ?? string.Empty)).Distinct()];
        claims[name] = (claim, address, holders);
        if (address is { } at)
        {
            AddTo(claimsAt, at, name);
            changedVips.Add(at);
        }
        foreach (var holder in holders)
        {
            AddTo(claimsNaming, holder, name);
        }
    }

    private void RemoveClaim(string? name)
    {
        if (name is null || !claims.Remove(name, out var old))
        {
            return;
        }
        if (old.Address is { } at)
        {
            RemoveFrom(claimsAt, at, name);
            changedVips.Add(at);
        }
        foreach (var holder in old.Holders)
        {
            RemoveFrom(claimsNaming, holder, name);
        }
    }

    private void PutSlice(V1EndpointSlice slice)
    {
        if (KeyOf(slice) is not { } key)
        {
            return;
        }
        RemoveSlice(key);
        var service = (key.Item1, slice.Metadata.Labels is { } labels && labels.TryGetValue(DesiredStateBuilder.ServiceNameLabel, out var named) ? named ?? string.Empty : string.Empty);
        slices[key] = (slice, service);
        AddTo(slicesOfService, service, key);
        changedServices.Add(service);
    }

    private void RemoveSlice((string, string) key)
    {
        if (slices.Remove(key, out var old))
        {
            RemoveFrom(slicesOfService, old.Service, key);
            changedServices.Add(old.Service);
        }
    }

    private static (string, string)? KeyOf(V1Service service) =>
        service?.Metadata?.Name is { } name ? (service.Metadata.NamespaceProperty ?? string.Empty, name) : null;

    private static (string, string)? KeyOf(V1EndpointSlice slice) =>
        slice?.Metadata?.Name is { } name ? (slice.Metadata.NamespaceProperty ?? string.Empty, name) : null;

    private static void AddTo<TKey, TValue>(Dictionary<TKey, HashSet<TValue>> sets, TKey key, TValue value)
        where TKey : notnull
    {
        (sets.TryGetValue(key, out var set) ? set : sets[key] = []).Add(value);
    }

    private static void RemoveFrom<TKey, TValue>(Dictionary<TKey, HashSet<TValue>> sets, TKey key, TValue value)
        where TKey : notnull
    {
        if (sets.TryGetValue(key, out var set) && set.Remove(value) && set.Count == 0)
        {
            sets.Remove(key);
        }
    }
}
