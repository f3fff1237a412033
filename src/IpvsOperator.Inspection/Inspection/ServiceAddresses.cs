using IpvsOperator.Entities;
using k8s.Models;

namespace IpvsOperator.Inspection;

/// <summary>A Service's addresses as the views need them: from its status, with the claim and the nodes serving each.</summary>
internal static class ServiceAddresses
{
    public static IReadOnlyList<string> Of(V1Service service) =>
        [.. (service.Status?.LoadBalancer?.Ingress ?? []).Select(i => i.Ip).OfType<string>().Distinct(StringComparer.Ordinal)];

    /// <summary>The claim of <paramref name="address"/>: named after the address (a colon of IPv6 as a dash), or holding it.</summary>
    public static V1Alpha1IPAllocation? ClaimOf(ClusterView view, string address) =>
        view.Allocations.FirstOrDefault(a => string.Equals(a.Spec?.Address, address, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether the claim names this Service as its holder or among those sharing it.</summary>
    public static bool Holds(V1Alpha1IPAllocation claim, V1Service service) =>
        new[] { claim.Spec.ServiceRef }.Concat(claim.Spec.SharedWith ?? []).Any(r => r.Uid == service.Metadata?.Uid
            || (r.Namespace == service.Metadata?.NamespaceProperty && r.Name == service.Metadata?.Name));

    /// <summary>The IPVSNodes that bind <paramref name="address"/>, with how each announces it (null: bound, not announced).</summary>
    public static IReadOnlyList<(V1Alpha1IPVSNode Node, IPVSNodeVip Vip)> ServedBy(ClusterView view, string address) =>
        [.. view.Nodes
            .Select(n => (Node: n, Vip: n.Status?.Vips?.FirstOrDefault(v => SameAddress(v?.Address, address))))
            .Where(n => n.Vip is not null)
            .Select(n => (n.Node, n.Vip!))
            .OrderBy(n => n.Node.Metadata?.Name, StringComparer.Ordinal)];

    /// <summary>Nodes that bind more VIPs than their status lists: one of them may bind an address no node lists.</summary>
    public static IReadOnlyList<V1Alpha1IPVSNode> ListingPartly(ClusterView view) =>
        [.. view.Nodes.Where(n => n.Status is { } status && status.VipsBound > (status.Vips?.Count ?? 0))];

    /// <summary>How old an agent's last sync may be for its IPVSNode to count: it writes at least once a minute.</summary>
    public static readonly TimeSpan Current = TimeSpan.FromMinutes(3);

    /// <summary>How far in the future a time may be before it is not believed.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>Whether what an IPVSNode says is current: its agent is ready and synced within <see cref="Current"/> (and not in the future).</summary>
    public static bool IsCurrent(V1Alpha1IPVSNode node, DateTime now) =>
        node.Status is { Ready: true, LastSync.Time: { } synced } && now - synced <= Current && synced - now <= ClockSkew;

    /// <summary>Why an IPVSNode is not current, in a few words.</summary>
    public static string Staleness(V1Alpha1IPVSNode node, DateTime now) =>
        node.Status?.Ready != true ? "its agent is NOT ready"
        : node.Status.LastSync?.Time is not { } synced ? "it never synced"
        : synced > now + ClockSkew ? "its last sync is dated in the future"
        : $"its last sync was {ServiceStatusReport.Age(now - synced)} ago";

    private static bool SameAddress(string? a, string b) =>
        a is not null && (string.Equals(a, b, StringComparison.OrdinalIgnoreCase)
            || (System.Net.IPAddress.TryParse(a, out var x) && System.Net.IPAddress.TryParse(b, out var y) && x.Equals(y)));

    /// <summary>Whether the Service is of a class this operator serves (unset: only if the controller runs as the default class).</summary>
    public static string ClassOf(V1Service service) => service.Spec?.LoadBalancerClass ?? "(none: ours unless the controller runs with --default-class=false)";

    public static V1Condition? Condition(V1Service service, string type) =>
        service.Status?.Conditions?.FirstOrDefault(c => c.Type == type);
}
