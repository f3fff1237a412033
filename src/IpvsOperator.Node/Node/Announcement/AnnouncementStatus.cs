using System.Collections.Concurrent;
using System.Net.NetworkInformation;
using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Events;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Announcement;

/// <summary>
/// Tells users who announces a Service's address: the <c>ipvsoperator.io/Announced</c> condition,
/// naming the node, written by the holder (for a Service with several addresses, by the holder of
/// the first one), and an <c>Announced</c> Event on every takeover naming the node before. When
/// another device on the LAN answers for an address this node should take, an <c>AddressConflict</c>
/// Warning Event names the device, and the condition is False with that reason while it lasts.
/// Level-based: checked after every sync, written only when it differs, so a write that failed is
/// made on a later sync. Only the status is written: the agent may not change any Service's spec or
/// metadata (see docs/operations.md, Security).
/// </summary>
internal sealed class AnnouncementStatus(ApiConnection api, EventRecorder events, string nodeName, ILogger logger, TimeProvider clock)
{
    private readonly ServiceConditions conditions = new(api, logger, clock);
    private readonly ConcurrentQueue<(IPAddressValue Address, string? From)> takeovers = new();
    private volatile HashSet<IPAddressValue> held = [];
    private volatile IReadOnlyDictionary<IPAddressValue, PhysicalAddress> conflicts = new Dictionary<IPAddressValue, PhysicalAddress>();
    private readonly ConcurrentQueue<(IPAddressValue Address, PhysicalAddress Device)> newConflicts = new();

    /// <summary>The addresses this node announces now.</summary>
    public IReadOnlySet<IPAddressValue> Held => held;

    /// <summary>After every change of the election: the addresses held from now on.</summary>
    public void Update(IReadOnlySet<IPAddressValue> now)
    {
        NodeMetrics.AnnouncementWithdrawals.Inc(held.Count(a => !now.Contains(a)));
        held = now.ToHashSet();
    }

    /// <summary>This node took an address (from the node named, or from nobody): an Event to write.</summary>
    public void RecordTakeover(IPAddressValue address, string? from)
    {
        NodeMetrics.AnnouncementTakeovers.Inc();
        takeovers.Enqueue((address, from));
    }

    /// <summary>
    /// The addresses this node should take but another device on the LAN answers for: a Warning
    /// Event for each new one, and the condition on its Services says so while it lasts.
    /// </summary>
    public void UpdateConflicts(IReadOnlyDictionary<IPAddressValue, PhysicalAddress> now)
    {
        var before = conflicts;
        foreach (var (address, device) in now.Where(c => !before.ContainsKey(c.Key)))
        {
            newConflicts.Enqueue((address, device));
        }
        conflicts = now;
    }

    /// <summary>
    /// Writes what changed: takeover Events, the condition on the Services this node announces (or
    /// that no node may announce), and removes it from Services that are announced
    /// no longer (deleted claims, a type or class changed): <paramref name="services"/> is every
    /// Service the agent knows.
    /// </summary>
    public async Task PublishAsync(IReadOnlyDictionary<IPAddressValue, AnnouncedAddress> announced, IEnumerable<V1Service> services, string? announceInterface,
        CancellationToken cancellationToken)
    {
        var on = announceInterface is null ? string.Empty : $" ({announceInterface})";
        while (takeovers.TryDequeue(out var takeover))
        {
            var before = takeover.From is null ? "nobody announced it before" : $"{takeover.From} announced it before";
            foreach (var service in ServicesOn(announced, takeover.Address))
            {
                await events.RecordAsync(service, EventType.Normal, WellKnown.Events.Announced,
                    $"{takeover.Address} is announced from {nodeName}{on}; {before}", cancellationToken);
            }
        }
        while (newConflicts.TryDequeue(out var conflict))
        {
            foreach (var service in ServicesOn(announced, conflict.Address))
            {
                await events.RecordAsync(service, EventType.Warning, WellKnown.Events.AddressConflict, ConflictMessage(conflict.Address, conflict.Device, on), cancellationToken);
            }
        }
        foreach (var (address, device) in conflicts)
        {
            foreach (var service in ServicesOn(announced, address).Where(s => PrimaryAddress(s, address) == address))
            {
                await EnsureShownAsync(service, null, "AddressConflict", ConflictMessage(address, device, on), cancellationToken);
            }
        }
        foreach (var address in held)
        {
            foreach (var service in ServicesOn(announced, address).Where(s => PrimaryAddress(s, address) == address))
            {
                await EnsureShownAsync(service, nodeName, "Layer2", $"{address} is announced from {nodeName}{on}", cancellationToken);
            }
        }
        // No node may announce these (externalTrafficPolicy Local and no ready endpoint): every agent
        // knows it alike, and whichever writes first makes it so; the others find it written.
        foreach (var (address, entry) in announced.Where(a => a.Value.Eligible is { Count: 0 }))
        {
            foreach (var service in entry.Services.Where(s => PrimaryAddress(s, address) == address))
            {
                await EnsureShownAsync(service, null, "NoEligibleNode",
                    $"no node announces {address}: externalTrafficPolicy is Local and no node running the agent has a ready endpoint", cancellationToken);
            }
        }
        // Every agent knows these alike too; whichever writes first clears them.
        var stillAnnounced = announced.Values.SelectMany(a => a.Services).Select(s => s.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
        foreach (var service in services.Where(s => !stillAnnounced.Contains(s.Metadata.Uid) && ShowsAnnouncement(s)))
        {
            await ClearAsync(service, cancellationToken);
        }
    }

    private static bool ShowsAnnouncement(V1Service service) => ServiceConditions.Find(service, WellKnown.Conditions.Announced) is not null;

    /// <summary>Takes the condition off a Service that is announced no longer; other writers' conditions stay.</summary>
    private Task ClearAsync(V1Service service, CancellationToken cancellationToken) =>
        conditions.RemoveAsync(service, WellKnown.Conditions.Announced, cancellationToken);

    private static IEnumerable<V1Service> ServicesOn(IReadOnlyDictionary<IPAddressValue, AnnouncedAddress> announced, IPAddressValue address) =>
        announced.TryGetValue(address, out var entry) ? entry.Services : [];

    /// <summary>The Service's first published address (the one whose holder speaks for it); <paramref name="fallback"/> while it has none.</summary>
    private static IPAddressValue PrimaryAddress(V1Service service, IPAddressValue fallback) =>
        service.Status?.LoadBalancer?.Ingress?.FirstOrDefault()?.Ip is { } ip && IPAddressValue.TryParse(ip, out var first) ? first : fallback;

    private string ConflictMessage(IPAddressValue address, PhysicalAddress device, string on) =>
        $"no node announces {address}: device {AnnouncementElection.Mac(device)} answered the ARP/NDP probe of {nodeName}{on} for it, and two answers would split its traffic; "
        + "find that device (a static address or a DHCP lease inside the pool) and remove the address from it, or take the address out of the pool; the node asks again every round";

    /// <summary>The condition naming <paramref name="holder"/> (False when no node announces, for <paramref name="reason"/>), written where it differs.</summary>
    private Task EnsureShownAsync(V1Service service, string? holder, string reason, string message, CancellationToken cancellationToken) =>
        conditions.EnsureAsync(service, WellKnown.Conditions.Announced, holder is null ? "False" : "True", reason, message, cancellationToken);

    /// <summary>Whether this node speaks for the Service: it announces the Service's first address.</summary>
    public bool SpeaksFor(V1Service service) =>
        service.Status?.LoadBalancer?.Ingress?.FirstOrDefault()?.Ip is { } ip && IPAddressValue.TryParse(ip, out var first) && held.Contains(first);
}
