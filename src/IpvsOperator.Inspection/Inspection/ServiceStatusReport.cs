using System.Globalization;
using System.Text;
using IpvsOperator.Entities;
using k8s.Models;

namespace IpvsOperator.Inspection;

/// <summary>
/// <c>kubectl ipvs status svc/NAME</c>: each address of the Service with its pool and claim, the
/// nodes that bind it and how each announces it (layer 2, BGP and its sessions), what those nodes
/// program (virtual services, destinations, draining) and when they last synced, the Service's
/// conditions and its latest Events.
/// </summary>
internal static class ServiceStatusReport
{
    /// <summary>The Events shown: the latest, as <c>kubectl describe</c> shows them.</summary>
    public const int EventsShown = 10;

    public static string Render(V1Service service, ClusterView view, DateTime now)
    {
        var text = new StringBuilder();
        var name = $"{service.Metadata?.NamespaceProperty}/{service.Metadata?.Name}";
        text.AppendLine(CultureInfo.InvariantCulture, $"Service {name}: type {service.Spec?.Type}, class {ServiceAddresses.ClassOf(service)}");
        var addresses = ServiceAddresses.Of(service);
        if (addresses.Count == 0)
        {
            text.AppendLine("  no address yet (`kubectl ipvs why` says why)");
        }
        foreach (var address in addresses)
        {
            var claim = ServiceAddresses.ClaimOf(view, address);
            var pool = claim?.Spec.Pool ?? "?";
            text.AppendLine(CultureInfo.InvariantCulture, $"  {address}");
            text.AppendLine(claim is null
                ? "    claim: none (no IPAllocation holds this address: not given by this operator, or released)"
                : $"    pool {pool}, claim ipallocation/{claim.Metadata?.Name}{(ServiceAddresses.Holds(claim, service) ? string.Empty : " (held by another Service)")}"
                    + (claim.Spec.SharedWith is { Count: > 0 } shared ? $", shared with {string.Join(", ", shared.Select(s => $"{s.Namespace}/{s.Name}"))}" : string.Empty));
            var served = ServiceAddresses.ServedBy(view, address);
            if (served.Count == 0)
            {
                text.AppendLine("    no node binds it");
            }
            foreach (var (node, announced) in served)
            {
                var status = node.Status;
                var sync = status?.LastSync;
                var age = sync?.Time is { } time ? $"{Age(now - time)} ago" : "never";
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"    node {node.Metadata?.Name}: {(announced is null ? "bound, not announced" : $"announced ({Mode(announced)})")}; {(status?.Ready == true ? "ready" : "NOT ready")}, last sync {sync?.Result ?? "none"} {age}; programs {status?.VirtualServices ?? 0} virtual services, {status?.Destinations ?? 0} destinations ({status?.DrainingDestinations ?? 0} draining)");
                if (announced?.Contains("bgp", StringComparison.Ordinal) == true && status?.Bgp is { } bgp)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"      BGP sessions {bgp.Established}: {bgp.Summary ?? "none"}");
                }
            }
        }
        foreach (var type in new[] { WellKnown.Conditions.Announced, WellKnown.Conditions.EndpointsHealthy })
        {
            if (ServiceAddresses.Condition(service, type) is { } condition)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {type}: {condition.Status} ({condition.Reason}) {condition.Message}");
            }
        }
        var events = view.Events.TakeLast(EventsShown).ToList();
        if (events.Count > 0)
        {
            text.AppendLine("  events:");
            foreach (var e in events)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {e.Type} {e.Reason}: {e.Message}");
            }
        }
        return text.ToString();
    }

    private static string Mode(string announced) => announced.Replace("l2", "layer 2", StringComparison.Ordinal).Replace("bgp", "BGP", StringComparison.Ordinal).Replace(",", " and ", StringComparison.Ordinal);

    internal static string Age(TimeSpan age) =>
        age < TimeSpan.Zero ? "0s"
        : age < TimeSpan.FromMinutes(2) ? $"{(int)age.TotalSeconds}s"
        : age < TimeSpan.FromHours(2) ? $"{(int)age.TotalMinutes}m"
        : $"{(int)age.TotalHours}h";
}
