using IpvsOperator.Addressing;

namespace IpvsOperator.Node;

/// <summary>
/// The difference between desired and actual state, as a pure function, in an order that never
/// drops traffic needlessly: addresses are bound and services and destinations added or updated
/// before anything is removed; stale destinations go before stale services, addresses last.
/// Only what we own is ever touched: an address (and the IPVS services on it) is ours when
/// <paramref name="owned"/> says so; kube-proxy's or a human's rules survive every sync. An mh
/// service's destinations are also kept in one order on every node (<see cref="MaglevOrder"/>).
/// </summary>
internal static class SyncPlanner
{
    public static IReadOnlyList<SyncOperation> Plan(DesiredState desired, ActualState actual, Func<IPAddressValue, bool> owned)
    {
        var adds = new List<SyncOperation>();
        var removes = new List<SyncOperation>();
        adds.AddRange(desired.Addresses.Except(actual.BoundAddresses).Order().Select(a => new SyncOperation.BindAddress(a)));
        foreach (var (key, (service, destinations)) in desired.Services.OrderBy(s => s.Key))
        {
            var current = actual.Services.TryGetValue(key, out var existing) ? existing.Destinations : [];
            if (!actual.Services.ContainsKey(key))
            {
                adds.Add(new SyncOperation.AddService(service));
            }
            else if (existing.Service != service)
            {
                adds.Add(new SyncOperation.UpdateService(service));
            }
            if (service.Scheduler == MaglevOrder.Scheduler)
            {
                var (ordered, stale) = MaglevOrder.Plan(key, destinations, current);
                adds.AddRange(ordered);
                removes.AddRange(stale);
                continue;
            }
            var programmed = current.ToDictionary(d => (d.Address, d.Port));
            foreach (var destination in destinations)
            {
                if (!programmed.Remove((destination.Address, destination.Port), out var same))
                {
                    adds.Add(new SyncOperation.AddDestination(key, destination));
                }
                else if (same != destination)
                {
                    adds.Add(new SyncOperation.UpdateDestination(key, destination));
                }
            }
            // What is left was programmed but is no longer wanted.
            removes.AddRange(current.Where(d => programmed.ContainsKey((d.Address, d.Port))).Select(d => new SyncOperation.DeleteDestination(key, d)));
        }
        removes.AddRange(actual.Services.Keys.Where(k => owned(k.Address) && !desired.Services.ContainsKey(k))
            .Order().Select(k => new SyncOperation.DeleteService(k)));
        removes.AddRange(actual.BoundAddresses.Where(a => owned(a) && !desired.Addresses.Contains(a)).Order().Select(a => new SyncOperation.UnbindAddress(a)));
        return [.. adds, .. removes];
    }
}
