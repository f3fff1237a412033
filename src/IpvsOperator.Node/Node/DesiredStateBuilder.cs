using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Node.Health;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Text;
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
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <param name="isDown">The health checker's verdict; null: no endpoint is down (nothing probed yet).</param>
    /// <param name="probeHostAddresses">Whether health checks may probe loopback, link-local and this node's own addresses (see <see cref="ProbeScope"/>).</param>
    /// <returns>What the kernel should hold, and what the rest of the agent acts on (announcements, probes, warnings).</returns>
    public static (DesiredState Kernel, ServedServices Served) Build(ClusterView view, string nodeName, ForwardTarget target = ForwardTarget.Endpoints, Func<ProbeTarget, bool>? isDown = null,
        bool probeHostAddresses = false)
    {
        isDown ??= _ => false;
        var scope = new ProbeScope(probeHostAddresses, NodeAddresses(view.Nodes, nodeName));
        var total = new Contribution();
        var addresses = new HashSet<IPAddressValue>();
        var allocated = new HashSet<IPAddressValue>();
        var announced = new Dictionary<IPAddressValue, (HashSet<string>? Eligible, List<V1Service> Services)>();
        var poolOf = new Dictionary<IPAddressValue, string>();
        var pools = ReadPools(view.Pools);
        // Keyed leniently: objects that bypassed admission may repeat a name or lack metadata.
        var byName = new Dictionary<(string?, string?), V1Service>();
        foreach (var candidate in view.Services)
        {
            if (candidate?.Metadata is { } metadata)
            {
                byName.TryAdd((metadata.NamespaceProperty, metadata.Name), candidate);
            }
        }
        var slicesOf = view.EndpointSlices
            .Where(s => s?.Metadata?.Labels?.ContainsKey(ServiceNameLabel) == true)
            .ToLookup(s => (s.Metadata.NamespaceProperty, s.Metadata.Labels[ServiceNameLabel]));
        foreach (var allocation in view.Allocations)
        {
            if (allocation?.Spec is null || !allocation.TryAddress(out var vip))
            {
                continue;
            }
            allocated.Add(vip);
            poolOf[vip] = allocation.Spec.Pool ?? string.Empty;
            foreach (var holder in allocation.Holders())
            {
                // Only a live Service of ours, the very one that claimed (same uid), is served.
                if (holder is null || !byName.TryGetValue((holder.Namespace, holder.Name), out var service) || service.Metadata.Uid != holder.Uid
                    || service.Spec?.Type != "LoadBalancer")
                {
                    continue;
                }
                // Every Service is untrusted input (its webhook fails open): whatever one holds, even
                // a failure nobody foresaw, costs that Service only, never the others' sync.
                Contribution mine;
                try
                {
                    var consistent = pools.TryGetValue(poolOf[vip], out var ofPool) && ofPool.Settings.ConsistentHashing;
                    mine = ReadService(service, vip, slicesOf[(holder.Namespace, holder.Name)], view.Nodes, nodeName, target, isDown, scope, consistent);
                }
                catch (Exception error) when (error is not OutOfMemoryException)
                {
                    total.Warnings.Add(new ServiceWarning(holder.Namespace, holder.Name, "InvalidService",
                        $"the node agent cannot read this Service ({error.GetType().Name}: {QuotedValue.Of(error.Message)}); it is not served from this node until it changes"));
                    continue;
                }
                addresses.Add(vip);
                total.Add(mine);
                var announcement = announced.TryGetValue(vip, out var a) ? a : announced[vip] = (null, []);
                announcement.Services.Add(service);
                if (mine.EligibleNodes is { } withEndpoints)
                {
                    announced[vip] = announcement with { Eligible = [.. announcement.Eligible ?? [], .. withEndpoints] };
                }
            }
        }
        foreach (var (vip, announcement) in announced)
        {
            if (pools.TryGetValue(poolOf[vip], out var pool) && pool.Errors.Count > 0)
            {
                foreach (var service in announcement.Services)
                {
                    total.Warnings.Add(new ServiceWarning(service.Metadata.NamespaceProperty, service.Metadata.Name, "InvalidPoolAnnouncement",
                        $"IPPool {poolOf[vip]}: {string.Join("; ", pool.Errors)}; {(pool.Settings == PoolAnnouncementSettings.Default ? "its addresses are announced the default way (layer 2 and BGP, nothing attached)" : "each of its addresses is announced alone (/32, /128)")}"));
                }
            }
        }
        var kernel = new DesiredState(addresses, total.Services, total.SourceNat) { Cut = total.Cut, HeldByHealthCheck = total.Held, ConsistentServices = total.Consistent };
        var served = new ServedServices(
            announced.ToDictionary(a => a.Key, a => new AnnouncedAddress(a.Value.Eligible, a.Value.Services, total.SourceNat.Any(k => k.Address == a.Key))
            {
                Announce = pools.TryGetValue(poolOf[a.Key], out var pool) ? pool.Settings : PoolAnnouncementSettings.Default,
            }),
            allocated,
            total.Probed.ToDictionary(p => p.Key, p => (IReadOnlyCollection<(string, string)>)p.Value),
            total.Warnings);
        return (kernel, served);
    }

    /// <summary>Each pool's announcement settings, one pool at a time: a pool that cannot be read is announced the default way, and said.</summary>
    private static Dictionary<string, (PoolAnnouncementSettings Settings, IReadOnlyList<string> Errors)> ReadPools(IReadOnlyList<V1Alpha1IPPool> pools)
    {
        var read = new Dictionary<string, (PoolAnnouncementSettings, IReadOnlyList<string>)>(StringComparer.Ordinal);
        foreach (var pool in pools)
        {
            if (pool?.Metadata?.Name is not { } name)
            {
                continue;
            }
            try
            {
                read.TryAdd(name, PoolAnnouncementReader.Read(pool));
            }
            catch (Exception error) when (error is not OutOfMemoryException)
            {
                read.TryAdd(name, (PoolAnnouncementSettings.Default, [$"the node agent cannot read it ({error.GetType().Name}: {QuotedValue.Of(error.Message)})"]));
            }
        }
        return read;
    }

    /// <summary>What one Service on one VIP adds to the desired state, read apart from the others.</summary>
    private static Contribution ReadService(V1Service service, IPAddressValue vip, IEnumerable<V1EndpointSlice> slicesOfService, IReadOnlyList<V1Node> nodes,
        string nodeName, ForwardTarget target, Func<ProbeTarget, bool> isDown, ProbeScope scope, bool consistentHashing)
    {
        var mine = new Contribution();
        var (settings, errors, _) = ServiceIpvsSettingsReader.Read(service);
        // Forwarding to node ports leaves the endpoints to kube-proxy: nothing is probed, so a bad health check costs nothing.
        var check = target == ForwardTarget.Endpoints ? settings.HealthCheck : null;
        foreach (var error in errors.Where(e => target == ForwardTarget.Endpoints || e.Reason != ServiceAnnotationError.InvalidHealthCheck))
        {
            mine.Warnings.Add(new ServiceWarning(service.Metadata.NamespaceProperty, service.Metadata.Name, error.Reason, error.FallbackMessage));
        }
        var method = ForwardMethodNamed(settings.ForwardMethod);
        var local = service.Spec.ExternalTrafficPolicy == "Local";
        var slices = slicesOfService.Where(s => s.AddressType == (vip.Family == IPFamily.IPv4 ? "IPv4" : "IPv6")).ToList();
        if (local)
        {
            mine.EligibleNodes = [.. slices.SelectMany(s => s.Endpoints ?? []).Where(e => e?.Conditions?.Ready != false && e?.NodeName is not null).Select(e => e.NodeName)];
        }
        foreach (var port in service.Spec.Ports ?? [])
        {
            if (port is null || !Enum.TryParse<IpvsProtocol>(port.Protocol ?? "TCP", out var protocol))
            {
                continue;
            }
            if (port.Port is < 1 or > ushort.MaxValue)
            {
                mine.Warnings.Add(new ServiceWarning(service.Metadata.NamespaceProperty, service.Metadata.Name, "InvalidPort",
                    $"port {port.Port} is not a port (1 to 65535); it is not served"));
                continue;
            }
            var key = new VirtualServiceKey(vip, protocol, (ushort)port.Port);
            var destinations = target == ForwardTarget.NodePort
                ? NodePortDestinations(nodes, port, vip.Family, local ? nodeName : null, method)
                : EndpointDestinations(slices, port, local ? nodeName : null, method);
            if (check is not null)
            {
                destinations = Checked(key, destinations, check, isDown, scope, mine, service, port);
            }
            var (scheduler, flags) = Scheduling(settings, consistentHashing);
            mine.Services[key] = (new VirtualService(key, scheduler, settings.Persistent, settings.PersistenceTimeout, flags), destinations);
            if (scheduler == MaglevOrder.Scheduler && !local)
            {
                mine.Consistent.Add(key);
            }
            if (method == ForwardMethod.Masquerade && !local)
            {
                mine.SourceNat.Add(key);
            }
        }
        return mine;
    }

    /// <summary>
    /// The scheduler and its flags: the Service's own when it names one; else, on a pool with
    /// consistent hashing, mh with fallback (a flow whose backend is at weight 0 is hashed onto another,
    /// alike on every node) and port (one client's connections still spread over the backends).
    /// </summary>
    private static (string Scheduler, uint Flags) Scheduling(ServiceIpvsSettings settings, bool consistentHashing) =>
        !settings.SchedulerAnnotated && consistentHashing
            ? (MaglevOrder.Scheduler, IpvsSchedulerFlags.Fallback | IpvsSchedulerFlags.Port)
            : (settings.Scheduler, (settings.HashFallback ? IpvsSchedulerFlags.Fallback : 0) | (settings.HashPort ? IpvsSchedulerFlags.Port : 0));

    /// <summary>The entries one Service adds; merged into the whole only once it was read without failing.</summary>
    private sealed class Contribution
    {
        public Dictionary<VirtualServiceKey, (VirtualService, IReadOnlyList<Destination>)> Services { get; } = [];
        public List<ServiceWarning> Warnings { get; } = [];
        public HashSet<VirtualServiceKey> SourceNat { get; } = [];
        public Dictionary<ProbeTarget, HashSet<(string, string)>> Probed { get; } = [];
        public HashSet<(VirtualServiceKey, IPAddressValue, ushort)> Cut { get; } = [];
        public HashSet<(VirtualServiceKey, IPAddressValue, ushort)> Held { get; } = [];
        public HashSet<VirtualServiceKey> Consistent { get; } = [];

        /// <summary>Endpoint addresses its health check may not probe (said once each).</summary>
        public HashSet<IPAddressValue> Unprobed { get; } = [];

        /// <summary>externalTrafficPolicy Local: the nodes with a ready endpoint (null: any node).</summary>
        public List<string>? EligibleNodes { get; set; }

        public void Add(Contribution other)
        {
            foreach (var (key, value) in other.Services)
            {
                Services[key] = value;
            }
            Warnings.AddRange(other.Warnings);
            SourceNat.UnionWith(other.SourceNat);
            foreach (var (probe, users) in other.Probed)
            {
                (Probed.TryGetValue(probe, out var known) ? known : Probed[probe] = []).UnionWith(users);
            }
            Cut.UnionWith(other.Cut);
            Held.UnionWith(other.Held);
            Consistent.UnionWith(other.Consistent);
        }
    }

    private static List<Destination> EndpointDestinations(List<V1EndpointSlice> slices, V1ServicePort port, string? onlyNode, ForwardMethod method)
    {
        var destinations = new Dictionary<(IPAddressValue, ushort), Destination>();
        foreach (var slice in slices)
        {
            // The slice's port for this Service port: by name (named targetPorts are resolved here), protocol too.
            var slicePort = (slice.Ports ?? []).FirstOrDefault(p => p is not null && (p.Name ?? string.Empty) == (port.Name ?? string.Empty) && (p.Protocol ?? "TCP") == (port.Protocol ?? "TCP"));
            if (slicePort?.Port is not { } number || number is < 1 or > ushort.MaxValue)
            {
                continue;
            }
            foreach (var endpoint in slice.Endpoints ?? [])
            {
                if (endpoint is null || (onlyNode is not null && endpoint.NodeName != onlyNode))
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
    /// Service is told. A down one is held at 0 (not drained away) while it stays listed. With
    /// reset-connections, a down one is cut instead: removed without a drain.
    /// </summary>
    private static List<Destination> Checked(VirtualServiceKey key, List<Destination> destinations, HealthCheck check, Func<ProbeTarget, bool> isDown, ProbeScope scope,
        Contribution mine, V1Service service, V1ServicePort port)
    {
        var (probed, cut, warnings) = (mine.Probed, mine.Cut, mine.Warnings);
        var serving = new List<Destination>();
        foreach (var destination in destinations.Where(d => d.Weight > 0))
        {
            if (scope.Refusal(destination.Address) is { } why)
            {
                // Forwarded to as before, never probed: one Warning per address and Service.
                if (mine.Unprobed.Add(destination.Address))
                {
                    warnings.Add(new ServiceWarning(service.Metadata.NamespaceProperty, service.Metadata.Name, "HealthCheckRefused",
                        $"endpoint {destination.Address} is {why}: the node agent does not health-check it (the operator allows it with --health-check-host-addresses); it gets traffic unchecked"));
                }
                continue;
            }
            serving.Add(destination);
        }
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
        mine.Held.UnionWith(down.Select(d => (key, d.Address, d.Port)));
        return [.. destinations.Select(d => down.Contains(d) ? d with { Weight = 0 } : d)];
    }

    /// <summary>The addresses this node's Node object lists (InternalIP, ExternalIP): health checks do not probe them unless allowed.</summary>
    private static HashSet<IPAddressValue> NodeAddresses(IReadOnlyList<V1Node> nodes, string nodeName) =>
        [.. nodes.Where(n => n?.Metadata?.Name == nodeName).SelectMany(n => n.Status?.Addresses ?? [])
            .Select(a => IPAddressValue.TryParse(a?.Address, out var address) ? address : (IPAddressValue?)null).OfType<IPAddressValue>()];

    private static List<Destination> NodePortDestinations(IReadOnlyList<V1Node> nodes, V1ServicePort port, IPFamily family, string? onlyNode, ForwardMethod method)
    {
        if (port.NodePort is not { } nodePort || nodePort is < 1 or > ushort.MaxValue)
        {
            return [];
        }
        return [.. nodes.Where(n => onlyNode is null || n.Metadata.Name == onlyNode)
            .SelectMany(n => n.Status?.Addresses?.Where(a => a.Type == "InternalIP") ?? [])
            .Select(a => IPAddressValue.TryParse(a.Address, out var address) ? address : (IPAddressValue?)null)
            .OfType<IPAddressValue>().Where(a => a.Family == family).Distinct().Order()
            .Select(a => new Destination(a, (ushort)nodePort, 1, method))];
    }

    /// <summary>The dataplane's forward method for a name <see cref="ServiceIpvsSettingsReader"/> accepts.</summary>
    internal static ForwardMethod ForwardMethodNamed(string name) => name switch
    {
        "masq" => ForwardMethod.Masquerade,
        "droute" => ForwardMethod.DirectRoute,
        "tunnel" => ForwardMethod.Tunnel,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, $"not one of {string.Join(", ", ServiceIpvsSettingsReader.ForwardMethods)}"),
    };
}
