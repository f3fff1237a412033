using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Mapping;
using IpvsOperator.Node.Health;
using k8s.Models;

namespace IpvsOperator.Node;

/// <summary>
/// The desired kernel state as a pure function of IPAllocations, Services and EndpointSlices:
/// for every allocated address and every port of the Services holding it, one virtual service
/// VIP:port, with the ready endpoints (or the nodes' node ports) behind it. An endpoint that its
/// Service's health check finds down gets weight 0 (or is cut, if the Service asks for its
/// connections to be reset), unless every endpoint of that port is down.
/// </summary>
public static class DesiredStateBuilder
{
    public const uint DefaultAffinityTimeout = 10800;
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <param name="isDown">The health checker's verdict; null: no endpoint is down (nothing probed yet).</param>
    public static DesiredState Build(ClusterView view, string nodeName, ForwardTarget target = ForwardTarget.Endpoints, Func<ProbeTarget, bool>? isDown = null)
    {
        isDown ??= _ => false;
        var probed = new Dictionary<ProbeTarget, HashSet<(string Namespace, string Name)>>();
        var cut = new HashSet<(VirtualServiceKey, IPAddressValue, ushort)>();
        var addresses = new HashSet<IPAddressValue>();
        var allocated = new HashSet<IPAddressValue>();
        var services = new Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)>();
        var warnings = new List<ServiceWarning>();
        var sourceNat = new HashSet<VirtualServiceKey>();
        var announced = new Dictionary<IPAddressValue, (HashSet<string>? Eligible, List<V1Service> Services)>();
        var poolOf = new Dictionary<IPAddressValue, string>();
        var pools = view.Pools.ToDictionary(p => p.Metadata.Name, p => PoolAnnouncementReader.Read(p).Settings);
        var byName = view.Services.ToDictionary(s => (s.Metadata.NamespaceProperty, s.Metadata.Name));
        var slicesOf = view.EndpointSlices
            .Where(s => s.Metadata.Labels?.ContainsKey(ServiceNameLabel) == true)
            .ToLookup(s => (s.Metadata.NamespaceProperty, s.Metadata.Labels[ServiceNameLabel]));
        foreach (var allocation in view.Allocations)
        {
            if (!IPAddressValue.TryParse(allocation.Spec?.Address, out var vip))
            {
                continue;
            }
            allocated.Add(vip);
            poolOf[vip] = allocation.Spec?.Pool ?? string.Empty;
            foreach (var holder in allocation.Holders())
            {
                // Only a live Service of ours, the very one that claimed (same uid), is served.
                if (!byName.TryGetValue((holder.Namespace, holder.Name), out var service) || service.Metadata.Uid != holder.Uid
                    || service.Spec?.Type != "LoadBalancer")
                {
                    continue;
                }
                addresses.Add(vip);
                var scheduler = Scheduler(service, warnings);
                var method = Method(service, warnings);
                var check = target == ForwardTarget.Endpoints ? HealthCheckOf(service, warnings) : null;
                var affinity = service.Spec.SessionAffinity == "ClientIP";
                var timeout = affinity ? (uint?)service.Spec.SessionAffinityConfig?.ClientIP?.TimeoutSeconds ?? DefaultAffinityTimeout : 0u;
                var local = service.Spec.ExternalTrafficPolicy == "Local";
                var slices = slicesOf[(holder.Namespace, holder.Name)].Where(s => s.AddressType == (vip.Family == IPFamily.IPv4 ? "IPv4" : "IPv6")).ToList();
                var announcement = announced.TryGetValue(vip, out var a) ? a : announced[vip] = (null, []);
                announcement.Services.Add(service);
                if (local)
                {
                    var withEndpoints = slices.SelectMany(s => s.Endpoints ?? [])
                        .Where(e => e.Conditions?.Ready != false && e.NodeName is not null).Select(e => e.NodeName);
                    announced[vip] = announcement with { Eligible = [.. announcement.Eligible ?? [], .. withEndpoints] };
                }
                foreach (var port in service.Spec.Ports ?? [])
                {
                    if (!Enum.TryParse<IpvsProtocol>(port.Protocol ?? "TCP", out var protocol))
                    {
                        continue;
                    }
                    var key = new VirtualServiceKey(vip, protocol, (ushort)port.Port);
                    var destinations = target == ForwardTarget.NodePort
                        ? NodePortDestinations(view.Nodes, port, vip.Family, local ? nodeName : null, method)
                        : EndpointDestinations(slices, port, local ? nodeName : null, method);
                    if (check is not null)
                    {
                        destinations = Checked(key, destinations, check, isDown, probed, cut, service, port, warnings);
                    }
                    services[key] = (new VirtualService(key, scheduler, affinity, timeout), destinations);
                    if (method == ForwardMethod.Masquerade && !local)
                    {
                        sourceNat.Add(key);
                    }
                }
            }
        }
        return new DesiredState(addresses, services, warnings, sourceNat)
        {
            Probed = probed.ToDictionary(p => p.Key, p => (IReadOnlyCollection<(string, string)>)p.Value),
            Announced = announced.ToDictionary(a => a.Key, a => new AnnouncedAddress(a.Value.Eligible, a.Value.Services, sourceNat.Any(k => k.Address == a.Key))
            {
                Announce = poolOf.TryGetValue(a.Key, out var pool) ? pools.GetValueOrDefault(pool) ?? PoolAnnouncementSettings.Default : PoolAnnouncementSettings.Default,
            }),
            Allocated = allocated,
            Cut = cut,
        };
    }

    private static List<Destination> EndpointDestinations(List<V1EndpointSlice> slices, V1ServicePort port, string? onlyNode, ForwardMethod method)
    {
        var destinations = new Dictionary<(IPAddressValue, ushort), Destination>();
        foreach (var slice in slices)
        {
            // The slice's port for this Service port: by name (named targetPorts are resolved here), protocol too.
            var slicePort = (slice.Ports ?? []).FirstOrDefault(p => (p.Name ?? string.Empty) == (port.Name ?? string.Empty) && (p.Protocol ?? "TCP") == (port.Protocol ?? "TCP"));
            if (slicePort?.Port is not { } number)
            {
                continue;
            }
            foreach (var endpoint in slice.Endpoints ?? [])
            {
                if (onlyNode is not null && endpoint.NodeName != onlyNode)
                {
                    continue;
                }
                var ready = endpoint.Conditions?.Ready != false;
                var draining = !ready && endpoint.Conditions?.Serving == true && endpoint.Conditions?.Terminating == true;
                if (!ready && !draining)
                {
                    continue;
                }
                foreach (var text in endpoint.Addresses ?? [])
                {
                    if (IPAddressValue.TryParse(text, out var address))
                    {
                        // A terminating endpoint that still serves keeps its connections but gets no new ones.
                        destinations[(address, (ushort)number)] = new Destination(address, (ushort)number, draining ? 0u : 1u, method);
                    }
                }
            }
        }
        return [.. destinations.Values.OrderBy(d => d.Address).ThenBy(d => d.Port)];
    }

    /// <summary>
    /// The destinations as the health check judges them: each ready one is a probe target, and a
    /// down one gets weight 0 (no new connections; established ones finish). When every ready one is
    /// down the check is more likely wrong than every pod, so all are kept (fail open) and the
    /// Service is told. With reset-connections, a down one is cut instead: removed without a drain.
    /// </summary>
    private static List<Destination> Checked(VirtualServiceKey key, List<Destination> destinations, HealthCheck check, Func<ProbeTarget, bool> isDown,
        Dictionary<ProbeTarget, HashSet<(string, string)>> probed, HashSet<(VirtualServiceKey, IPAddressValue, ushort)> cut,
        V1Service service, V1ServicePort port, List<ServiceWarning> warnings)
    {
        var serving = destinations.Where(d => d.Weight > 0).ToList();
        var down = new HashSet<Destination>();
        foreach (var destination in serving)
        {
            var probeTarget = new ProbeTarget(destination.Address, check.Port is { } p ? (ushort)p : destination.Port, check.Probe);
            (probed.TryGetValue(probeTarget, out var users) ? users : probed[probeTarget] = []).Add((service.Metadata.NamespaceProperty, service.Metadata.Name));
            if (isDown(probeTarget))
            {
                down.Add(destination);
            }
        }
        if (down.Count == 0)
        {
            return destinations;
        }
        if (down.Count == serving.Count)
        {
            warnings.Add(new ServiceWarning(service.Metadata.NamespaceProperty, service.Metadata.Name, "AllEndpointsUnhealthy",
                $"every endpoint of port {port.Port}/{port.Protocol ?? "TCP"} fails its health check ({serving.Count}); all are kept (fail open) until one passes"));
            return destinations;
        }
        if (check.ResetConnections)
        {
            cut.UnionWith(down.Select(d => (key, d.Address, d.Port)));
            return [.. destinations.Where(d => !down.Contains(d))];
        }
        return [.. destinations.Select(d => down.Contains(d) ? d with { Weight = 0 } : d)];
    }

    private static HealthCheck? HealthCheckOf(V1Service service, List<ServiceWarning> warnings)
    {
        var (check, error) = HealthCheckReader.Read(service);
        if (error is not null)
        {
            warnings.Add(new ServiceWarning(service.Metadata.NamespaceProperty, service.Metadata.Name, "InvalidHealthCheck", $"{error}; its endpoints are not checked"));
        }
        return check;
    }

    private static List<Destination> NodePortDestinations(IReadOnlyList<V1Node> nodes, V1ServicePort port, IPFamily family, string? onlyNode, ForwardMethod method)
    {
        if (port.NodePort is not { } nodePort)
        {
            return [];
        }
        return [.. nodes.Where(n => onlyNode is null || n.Metadata.Name == onlyNode)
            .SelectMany(n => n.Status?.Addresses?.Where(a => a.Type == "InternalIP") ?? [])
            .Select(a => IPAddressValue.TryParse(a.Address, out var address) ? address : (IPAddressValue?)null)
            .OfType<IPAddressValue>().Where(a => a.Family == family).Distinct().Order()
            .Select(a => new Destination(a, (ushort)nodePort, 1, method))];
    }

    private static string Scheduler(V1Service service, List<ServiceWarning> warnings)
    {
        var wanted = service.Metadata.Annotations?.TryGetValue(WellKnown.Annotations.Scheduler, out var s) == true ? s.Trim() : "rr";
        if (IpvsSchedulers.Known.Contains(wanted))
        {
            return wanted;
        }
        warnings.Add(new ServiceWarning(service.Metadata.NamespaceProperty, service.Metadata.Name, "UnknownScheduler",
            $"annotation {WellKnown.Annotations.Scheduler}: '{wanted}' is not an IPVS scheduler; using rr. Valid: {string.Join(", ", IpvsSchedulers.Known.Order(StringComparer.Ordinal))}"));
        return "rr";
    }

    private static ForwardMethod Method(V1Service service, List<ServiceWarning> warnings)
    {
        var wanted = service.Metadata.Annotations?.TryGetValue(WellKnown.Annotations.ForwardMethod, out var m) == true ? m.Trim() : "masq";
        switch (wanted)
        {
            case "masq":
                return ForwardMethod.Masquerade;
            case "droute":
                return ForwardMethod.DirectRoute;
            case "tunnel":
                return ForwardMethod.Tunnel;
            default:
                warnings.Add(new ServiceWarning(service.Metadata.NamespaceProperty, service.Metadata.Name, "UnknownForwardMethod",
                    $"annotation {WellKnown.Annotations.ForwardMethod}: '{wanted}' is not a forward method; using masq. Valid: masq, droute, tunnel"));
                return ForwardMethod.Masquerade;
        }
    }
}
