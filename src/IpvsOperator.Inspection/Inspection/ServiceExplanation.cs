using IpvsOperator.Entities;
using k8s.Models;

namespace IpvsOperator.Inspection;

/// <summary>
/// <c>kubectl ipvs why svc/NAME</c>: one paragraph on why a Service is <c>&lt;pending&gt;</c>, or why
/// no node serves its VIP, from what the controller and the agents published: the Service's type and
/// class, the controller's last <c>AllocationFailed</c> Event, the claims, the IPVSNodes and the
/// <c>Announced</c> condition.
/// </summary>
internal static class ServiceExplanation
{
    /// <summary>The controller's name on its Events: an Event any namespace editor can write is quoted only from it.</summary>
    public const string ControllerComponent = "ipvs-operator-controller";

    public static string Explain(V1Service service, ClusterView view, DateTime now)
    {
        var name = $"{service.Metadata?.NamespaceProperty}/{service.Metadata?.Name}";
        if (service.Spec?.Type != "LoadBalancer")
        {
            return $"Service {name} is of type {service.Spec?.Type ?? "ClusterIP"}: only a Service of type LoadBalancer gets an address from a pool.";
        }
        if (service.Spec.LoadBalancerClass is { } other && other != WellKnown.LoadBalancerClass)
        {
            return $"Service {name} asks for loadBalancerClass {other}: another load balancer serves it, not this operator (ours is {WellKnown.LoadBalancerClass}).";
        }
        var addresses = ServiceAddresses.Of(service);
        if (addresses.Count == 0)
        {
            return Pending(name, service, view, now);
        }
        var unserved = addresses.Where(a => !Announcing(view, a, now).Any()).ToList();
        if (unserved.Count == 0)
        {
            var by = addresses.Select(a => $"{a} by {string.Join(", ", Announcing(view, a, now).Select(s => $"{s.Node.Metadata?.Name} ({s.Vip.Announced})"))}");
            return $"Service {name} is served: {string.Join("; ", by)}.{NoBackend(addresses, view, now)} If clients still get no answer, check its endpoints (`kubectl ipvs status`), the EndpointsHealthy condition and the router or LAN between the clients and those nodes.";
        }
        return Unserved(name, service, view, unserved, now);
    }

    /// <summary>Said when the announcing nodes that list the VIP's virtual services list no destination that takes connections.</summary>
    private static string NoBackend(IEnumerable<string> addresses, ClusterView view, DateTime now)
    {
        var listed = addresses.SelectMany(a => Announcing(view, a, now))
            .Select(s => s.Vip.Services?.Where(v => v is not null).ToList() ?? []).ToList();
        if (listed.Count == 0 || listed.Any(services => services.Count == 0
                || services.Any(v => v.DestinationCount != (v.Destinations?.Count ?? 0) || v.Destinations?.Any(d => d is null || d.Weight > 0) == true)))
        {
            return string.Empty; // not all listed, or something takes connections
        }
        return listed.All(services => services.All(v => v.DestinationCount == 0))
            ? " But its virtual services have no destination on any announcing node: the Service has no ready endpoint (check its selector and `kubectl get endpointslices`), so connections are refused."
            : " But every destination on the announcing nodes has weight 0 (failing its health check or draining): no new connection is served.";
    }

    /// <summary>The nodes that say they announce the address and whose word is current: a ready agent that synced lately.</summary>
    private static IEnumerable<(V1Alpha1IPVSNode Node, IPVSNodeVip Vip)> Announcing(ClusterView view, string address, DateTime now) =>
        ServiceAddresses.ServedBy(view, address).Where(s => s.Vip.Announced is not null && ServiceAddresses.IsCurrent(s.Node, now));

    private static string Pending(string name, V1Service service, ClusterView view, DateTime now)
    {
        // Only the controller's own, and none dated in the future (which would stay the latest for ever).
        var failure = view.Events.LastOrDefault(e => e.Reason == WellKnown.Events.AllocationFailed
            && (e.ReportingComponent ?? e.Source?.Component) == ControllerComponent
            && !((e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp) > now + ServiceAddresses.ClockSkew));
        var readyPools = view.Pools.Count(p => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true);
        var classNote = service.Spec?.LoadBalancerClass is null
            ? " It names no loadBalancerClass, so this operator serves it only if its controller runs with --default-class (the default) and no other load balancer took it."
            : string.Empty;
        return failure is not null
            ? $"Service {name} has no address: the controller said \"{failure.Message}\" ({failure.Type} {failure.Reason}, {Math.Max(failure.Count ?? 1, 1)} time(s)). {view.Pools.Count} pool(s) exist, {readyPools} ready.{classNote}"
            : $"Service {name} has no address and the controller has said nothing of it: is the controller running (`kubectl -n {WellKnown.OperatorNamespace} get pods`)? {view.Pools.Count} pool(s) exist, {readyPools} ready.{classNote}";
    }

    private static string Unserved(string name, V1Service service, ClusterView view, IReadOnlyList<string> unserved, DateTime now)
    {
        var reasons = new List<string>();
        foreach (var address in unserved)
        {
            var bound = ServiceAddresses.ServedBy(view, address);
            var claim = ServiceAddresses.ClaimOf(view, address);
            if (claim is null)
            {
                reasons.Add($"{address} has no claim (IPAllocation), so no node agent serves it: the address was not given by this operator, or was released");
            }
            else if (bound.Count == 0)
            {
                var ready = view.Nodes.Count(n => n.Status?.Ready == true);
                var partly = ServiceAddresses.ListingPartly(view);
                reasons.Add($"{address} (pool {claim.Spec.Pool}) is bound by no node: {view.Nodes.Count} node agent(s) publish an IPVSNode, {ready} ready"
                    + (partly.Count > 0 ? $" (but {string.Join(", ", partly.Select(n => n.Metadata?.Name))} bind more VIPs than their status lists, the first {IPVSNodeStatus.MaxListedVips} in address order: one of them may bind it)" : string.Empty));
            }
            else if (bound.Where(b => b.Vip.Announced is not null && !ServiceAddresses.IsCurrent(b.Node, now)).ToList() is { Count: > 0 } stale)
            {
                reasons.Add($"{address} is listed as announced only by {string.Join(", ", stale.Select(b => $"{b.Node.Metadata?.Name} ({ServiceAddresses.Staleness(b.Node, now)})"))}, whose word is not current: check that node's agent (`kubectl get ipvsnodes`, its pod and log)");
            }
            else
            {
                var problems = bound.Select(b => b.Node.Status?.AnnouncementProblem ?? b.Node.Status?.Bgp?.Problem).OfType<string>().Distinct().ToList();
                reasons.Add($"{address} is bound by {string.Join(", ", bound.Select(b => b.Node.Metadata?.Name))} but announced by none"
                    + (problems.Count > 0 ? $" ({string.Join("; ", problems)})" : string.Empty));
            }
        }
        var announced = ServiceAddresses.Condition(service, WellKnown.Conditions.Announced);
        var condition = announced is null ? string.Empty : $" Its {WellKnown.Conditions.Announced} condition: {announced.Status} ({announced.Reason}) {announced.Message}";
        return $"Service {name} has its address but no node serves it: {string.Join("; ", reasons)}.{condition}";
    }
}
