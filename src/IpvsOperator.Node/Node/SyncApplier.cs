using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// Reads the kernel back, plans the difference and applies it, the IPVS changes several to a
/// netlink datagram. A refused operation is logged and counted, and the rest still applied: one bad
/// Service never stops the others being served.
/// </summary>
internal sealed class SyncApplier(IIpvs ipvs, BindLink link, ILogger logger)
{
    private string lastUnrepresented = string.Empty;

    /// <summary>
    /// The kernel's addresses, services and destinations. The services are always listed (one dump);
    /// destinations are dumped per service, unless <paramref name="known"/> vouches for a service's
    /// (a sync after a change reads back only what changed, and leaves drift to the full re-sync).
    /// </summary>
    public ActualState ReadActual(Func<VirtualServiceKey, IReadOnlyList<Destination>?>? known = null)
    {
        var services = ipvs.ListServices().ToDictionary(
            s => s.Key,
            s => (s, known?.Invoke(s.Key) ?? ipvs.ListDestinations(s.Key)));
        ReportUnrepresented(ipvs.Unrepresented);
        return new ActualState(link.Addresses().ToHashSet(), services);
    }

    /// <summary>Says once, and again when it changes, which services of other kinds the node holds: they are left alone.</summary>
    private void ReportUnrepresented(IReadOnlyList<string> shapes)
    {
        var now = string.Join("; ", shapes);
        if (now != lastUnrepresented && shapes.Count > 0)
        {
            logger.LogInformation("IPVS holds {Count} service(s) of a kind the agent never makes, left alone: {Services}", shapes.Count, now);
        }
        lastUnrepresented = now;
    }

    public AppliedPlan Sync(DesiredState desired, Func<IPAddressValue, bool> owned) => Sync(desired, ReadActual(), owned);

    public AppliedPlan Sync(DesiredState desired, ActualState actual, Func<IPAddressValue, bool> owned)
    {
        var plan = SyncPlanner.Plan(desired, actual, owned);
        var errors = new List<(SyncOperation, string)>();
        // IPVS changes go to the kernel together, in the plan's order; an address change between
        // them sends those before it first, so that the order of the plan holds.
        var pending = new List<(SyncOperation Operation, IpvsChange Change)>();
        foreach (var operation in plan)
        {
            if (ChangeOf(operation) is { } change)
            {
                pending.Add((operation, change));
                continue;
            }
            Flush(pending, errors);
            try
            {
                Apply(operation);
            }
            catch (DataplaneException error)
            {
                Refused(operation, error, errors);
            }
        }
        Flush(pending, errors);
        return new AppliedPlan(plan.Count, errors);
    }

    private void Flush(List<(SyncOperation Operation, IpvsChange Change)> pending, List<(SyncOperation, string)> errors)
    {
        if (pending.Count == 0)
        {
            return;
        }
        foreach (var (index, error) in ipvs.ApplyAll([.. pending.Select(p => p.Change)]))
        {
            Refused(pending[index].Operation, error, errors);
        }
        pending.Clear();
    }

    private void Refused(SyncOperation operation, DataplaneException error, List<(SyncOperation, string)> errors)
    {
        errors.Add((operation, error.Message));
        logger.LogWarning("{Operation} failed: {Error}", operation, error.Message);
    }

    private static IpvsChange? ChangeOf(SyncOperation operation) => operation switch
    {
        SyncOperation.AddService add => new IpvsChange.AddService(add.Service),
        SyncOperation.UpdateService update => new IpvsChange.UpdateService(update.Service),
        SyncOperation.DeleteService delete => new IpvsChange.DeleteService(delete.Key),
        SyncOperation.AddDestination add => new IpvsChange.AddDestination(add.Key, add.Destination),
        SyncOperation.UpdateDestination update => new IpvsChange.UpdateDestination(update.Key, update.Destination),
        SyncOperation.DeleteDestination delete => new IpvsChange.DeleteDestination(delete.Key, delete.Destination.Address, delete.Destination.Port),
        _ => null,
    };

    private void Apply(SyncOperation operation)
    {
        switch (operation)
        {
            case SyncOperation.BindAddress bind:
                link.Bind(bind.Address);
                break;
            case SyncOperation.UnbindAddress unbind:
                link.Unbind(unbind.Address);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(operation), operation, "not an address change");
        }
    }
}
