using System.Globalization;
using System.Text;
using IpvsOperator.Entities;
using k8s.Models;

namespace IpvsOperator.Inspection;

/// <summary>
/// <c>kubectl ipvs status svc/NAME</c>: each address of the Service with its pool and claim, the
/// nodes that bind it and how each announces it (layer 2, BGP and its sessions), what those nodes
/// program on it (virtual services, and destinations with weight, health, drain and connections)
/// and when they last synced, the Service's
/// conditions and its latest Events.
/// </summary>
internal static class ServiceStatusReport
{
    /// <summary>The Events shown: the latest, as <c>kubectl describe</c> shows them.</summary>
    public const int EventsShown = 10;

    /// <summary>The destinations shown per virtual service: a hand-written IPVSNode can list thousands.</summary>
    public const int MaxDestinationsShown = 64;

    /// <summary>The characters of an Event's message shown.</summary>
    public const int EventMessageShown = 1_000;

    public static string Render(V1Service service, ClusterView view, DateTime now)
    {
        var text = new StringBuilder();
        var name = $"{service.Metadata?.NamespaceProperty}/{service.Metadata?.Name}";
        text.AppendLine(CultureInfo.InvariantCulture, $"Service {name}: type {service.Spec?.Type}, class {ServiceAddresses.ClassOf(service)}");
        var addresses = ServiceAddresses.Of(service);
        if (addresses.Count == 0)
        {
            text.AppendLine(service.Spec?.Type == "LoadBalancer"
                ? "  no address yet (`kubectl ipvs why` says why)"
                : $"  no address: only a Service of type LoadBalancer gets one (this one is {service.Spec?.Type ?? "ClusterIP"})");
        }
        foreach (var address in addresses)
        {
            var claim = ServiceAddresses.ClaimOf(view, address);
            var pool = claim?.Spec.Pool ?? "?";
            text.AppendLine(CultureInfo.InvariantCulture, $"  {address}");
            text.AppendLine(claim is null
                ? "    claim: none (no IPAllocation holds this address: not given by this operator, or released)"
                : $"    pool {pool}, claim ipallocation/{claim.Metadata?.Name}{(ServiceAddresses.Holds(claim, service) ? string.Empty : " (held by another Service)")}"
                    + (Sharing(claim, service) is { Count: > 0 } shared ? $", shared with {string.Join(", ", shared)}" : string.Empty));
            var served = ServiceAddresses.ServedBy(view, address);
            if (served.Count == 0)
            {
                var partly = ServiceAddresses.ListingPartly(view);
                text.AppendLine(partly.Count == 0
                    ? "    no node binds it"
                    : $"    no node lists it; {string.Join(", ", partly.Select(n => n.Metadata?.Name))} bind more VIPs than their status lists (the first {IPVSNodeStatus.MaxListedVips} in address order)");
            }
            foreach (var (node, vip) in served)
            {
                var announced = vip.Announced;
                var status = node.Status;
                var sync = status?.LastSync;
                var age = sync?.Time is { } time ? $"{Age(now - time)} ago" : "never";
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"    node {node.Metadata?.Name}: {(announced is null ? "bound, not announced" : $"announced ({Mode(announced)})")}; {(status?.Ready == true ? "ready" : "NOT ready")}, last sync {sync?.Result ?? "none"} {age}; in all it programs {Count(status?.VirtualServices ?? 0, "virtual service")}, {Count(status?.Destinations ?? 0, "destination")} ({status?.DrainingDestinations ?? 0} draining)");
                if (announced?.Contains("bgp", StringComparison.Ordinal) == true && status?.Bgp is { } bgp)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"      BGP sessions {bgp.Established}: {bgp.Summary ?? "none"}");
                }
                VirtualServices(text, node.Metadata?.Name, vip, Ports(service), status?.ConnectionsSampledAt, now);
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
                var message = e.Message is { Length: > EventMessageShown } whole ? $"{whole[..EventMessageShown]}... ({whole.Length} characters)" : e.Message;
                text.AppendLine(CultureInfo.InvariantCulture, $"    {e.Type} {e.Reason}: {message}");
            }
        }
        return text.ToString();
    }

    /// <summary>The node's virtual services on the VIP with their destinations, as <c>ipvsadm -Ln</c> would show them there.</summary>
    /// <param name="ports">The Service's own ports: a shared VIP's other ports belong to the Services sharing it.</param>
    private static void VirtualServices(StringBuilder text, string? nodeName, IPVSNodeVip vip, HashSet<(string, int)> ports, DateTime? sampledAt, DateTime now)
    {
        var services = (vip.Services ?? []).Where(s => s is not null && ports.Contains((s.Protocol?.ToUpperInvariant() ?? string.Empty, s.Port))).ToList();
        if (vip.VirtualServiceCount == 0 && services.Count == 0)
        {
            text.AppendLine("      no virtual service on this VIP");
            return;
        }
        var connections = sampledAt is { } at ? $"connections as of {Age(now - at)} ago" : "connections not read yet";
        foreach (var service in services)
        {
            var destinations = (service.Destinations ?? []).Where(d => d is not null).ToList();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"      {service.Protocol} {service.Port} ({service.Scheduler}): {Count(service.DestinationCount, "destination")}{(service.DestinationCount > 0 ? $", {connections}" : string.Empty)}");
            foreach (var destination in destinations.Take(MaxDestinationsShown))
            {
                var state = new List<string> { $"weight {destination.Weight}" };
                if (destination.Health is { } health)
                {
                    state.Add($"health check {health}");
                }
                if (destination.Draining == true)
                {
                    state.Add("draining");
                }
                if (destination.ActiveConnections is { } active)
                {
                    state.Add($"{active} active, {destination.InactiveConnections ?? 0} inactive connections");
                }
                var where = System.Net.IPAddress.TryParse(destination.Address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{destination.Address}]:{destination.Port}" : $"{destination.Address}:{destination.Port}";
                text.AppendLine(CultureInfo.InvariantCulture, $"        {where}  {string.Join(", ", state)}");
            }
            if (destinations.Count > MaxDestinationsShown)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"        ... {destinations.Count - MaxDestinationsShown} more listed by the node (`kubectl get ipvsnode {nodeName} -o yaml` has them)");
            }
            if (service.DestinationCount > destinations.Count)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"        ... {service.DestinationCount - destinations.Count} more not listed (a node lists {IPVSNodeStatus.MaxListedDestinations} destinations in all)");
            }
        }
        if (vip.VirtualServiceCount > (vip.Services?.Count ?? 0))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"      ... the node programs {vip.VirtualServiceCount} virtual services on this address and lists {vip.Services?.Count ?? 0} (a node lists {IPVSNodeStatus.MaxListedVirtualServices} in all): this Service's other ports may be among those not listed");
        }
    }

    /// <summary>The other Services on the claim: its holder and those sharing it, this one left out.</summary>
    private static List<string> Sharing(V1Alpha1IPAllocation claim, V1Service service) =>
        [.. new[] { claim.Spec.ServiceRef }.Concat(claim.Spec.SharedWith ?? [])
            .Where(r => r is not null && !(r.Uid == service.Metadata?.Uid || (r.Namespace == service.Metadata?.NamespaceProperty && r.Name == service.Metadata?.Name)))
            .Select(r => $"{r.Namespace}/{r.Name}").Distinct()];

    private static HashSet<(string, int)> Ports(V1Service service) =>
        [.. (service.Spec?.Ports ?? []).Select(p => ((p.Protocol ?? "TCP").ToUpperInvariant(), p.Port))];

    private static string Count(int count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";

    private static string Mode(string announced) => announced.Replace("l2", "layer 2", StringComparison.Ordinal).Replace("bgp", "BGP", StringComparison.Ordinal).Replace(",", " and ", StringComparison.Ordinal);

    internal static string Age(TimeSpan age) =>
        age < TimeSpan.Zero ? "0s"
        : age < TimeSpan.FromMinutes(2) ? $"{(int)age.TotalSeconds}s"
        : age < TimeSpan.FromHours(2) ? $"{(int)age.TotalMinutes}m"
        : $"{(int)age.TotalHours}h";
}
