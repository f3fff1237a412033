using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// Reads the kernel back, plans the difference and applies it. A refused operation is logged and
/// counted, and the rest still applied: one bad Service never stops the others being served.
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
        foreach (var operation in plan)
        {
            try
            {
                Apply(operation);
            }
            catch (DataplaneException error)
            {
                errors.Add((operation, error.Message));
                logger.LogWarning("{Operation} failed: {Error}", operation, error.Message);
            }
        }
        return new AppliedPlan(plan.Count, errors);
    }

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
            case SyncOperation.AddService add:
                ipvs.AddService(add.Service);
                break;
            case SyncOperation.UpdateService update:
                ipvs.UpdateService(update.Service);
                break;
            case SyncOperation.DeleteService delete:
                ipvs.DeleteService(delete.Key);
                break;
            case SyncOperation.AddDestination add:
                ipvs.AddDestination(add.Key, add.Destination);
                break;
            case SyncOperation.UpdateDestination update:
                ipvs.UpdateDestination(update.Key, update.Destination);
                break;
            case SyncOperation.DeleteDestination delete:
                ipvs.DeleteDestination(delete.Key, delete.Destination.Address, delete.Destination.Port);
                break;
        }
    }
}
