using System.Net;
using System.Text.Json.Nodes;
using System.Numerics;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// What the API server does to a Service: defaults (type, protocol, targetPort, families,
/// traffic policies) and the cluster IPs and node ports it allocates and frees.
/// </summary>
internal sealed class ServiceDefaults
{
    private static readonly IPAddress ClusterIPv4Base = IPAddress.Parse("10.96.0.0");
    private static readonly IPAddress ClusterIPv6Base = IPAddress.Parse("fd00:10:96::");
    private const int ClusterIPRange = 1 << 20;
    private const int NodePortLow = 30000, NodePortHigh = 32767;

    private readonly Lock gate = new();
    private readonly HashSet<string> clusterIPs = [];
    private readonly HashSet<int> nodePorts = [];
    private int nextIP = 10;
    private int nextPort = NodePortLow;

    public void ApplyOnCreate(ApiResource resource, JsonObject service)
    {
        var spec = service["spec"] as JsonObject ?? (JsonObject)(service["spec"] = new JsonObject());
        var type = spec["type"]?.GetValue<string>() ?? "ClusterIP";
        spec["type"] = type;
        spec["sessionAffinity"] ??= "None";
        var ports = spec["ports"] as JsonArray;
        if (type != "ExternalName" && (ports is null || ports.Count == 0))
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(service), [("spec.ports", "Required value")]);
        }
        foreach (var (port, index) in (ports?.OfType<JsonObject>() ?? []).Select((p, i) => (p, i)))
        {
            var number = port["port"]?.GetValue<int>() ?? 0;
            if (number is < 1 or > 65535)
            {
                throw ApiException.Invalid(resource, ObjectStorage.NameOf(service), [($"spec.ports[{index}].port", $"Invalid value: {number}: must be between 1 and 65535, inclusive")]);
            }
            port["protocol"] ??= "TCP";
            port["targetPort"] ??= number;
        }
        if (type != "ExternalName")
        {
            // An ExternalName Service is a DNS name: no families, cluster IP or traffic policy.
            AssignFamilies(spec);
        }
        var taken = new List<(string? Ip, int? Port)>();
        lock (gate)
        {
            try
            {
                if (spec["clusterIP"]?.GetValue<string>() is not "None" && type != "ExternalName")
                {
                    var requested = spec["clusterIP"]?.GetValue<string>() is { Length: > 0 } asked ? asked : null;
                    var assigned = spec["ipFamilies"]!.AsArray().Select((f, i) =>
                    {
                        var ip = i == 0 && requested is not null ? Claim(resource, service, requested) : f!.GetValue<string>() == "IPv6" ? Allocate(ClusterIPv6Base) : Allocate(ClusterIPv4Base);
                        taken.Add((ip, null));
                        return ip;
                    }).ToList();
                    spec["clusterIP"] = assigned[0];
                    spec["clusterIPs"] = new JsonArray([.. assigned.Select(a => (JsonNode)a)]);
                }
                if (type is "NodePort" or "LoadBalancer")
                {
                    spec["externalTrafficPolicy"] ??= "Cluster";
                    if (type == "LoadBalancer")
                    {
                        spec["allocateLoadBalancerNodePorts"] ??= true;
                    }
                    if (type == "NodePort" || spec["allocateLoadBalancerNodePorts"]?.GetValue<bool>() != false)
                    {
                        foreach (var (port, index) in ports!.OfType<JsonObject>().Select((p, i) => (p, i)))
                        {
                            var nodePort = port["nodePort"]?.GetValue<int>() is { } requested ? ClaimPort(resource, service, index, requested) : AllocatePort();
                            taken.Add((null, nodePort));
                            port["nodePort"] = nodePort;
                        }
                    }
                    if (type == "LoadBalancer" && spec["externalTrafficPolicy"]?.GetValue<string>() == "Local")
                    {
                        var health = AllocatePort();
                        taken.Add((null, health));
                        spec["healthCheckNodePort"] ??= health;
                    }
                }
            }
            catch
            {
                // All or nothing, as the API server's allocators: a refused Service holds nothing.
                foreach (var (ip, port) in taken)
                {
                    Free(ip, port);
                }
                throw;
            }
        }
        if (type != "ExternalName")
        {
            spec["internalTrafficPolicy"] ??= "Cluster";
        }
    }

    /// <summary>
    /// On an update, what a type change does to node ports and cluster IPs (upstream's allocation
    /// on update): becoming NodePort or LoadBalancer gives every port a node port (keeping those it
    /// had) and an externalTrafficPolicy; leaving it drops them. Becoming ExternalName drops the
    /// cluster IPs, families and internal traffic policy it kept unchanged; leaving ExternalName
    /// gives them. What is newly taken is returned (free it if the write fails), and what is dropped
    /// (free it once the write succeeded).
    /// </summary>
    public (ServiceAllocations Taken, ServiceAllocations Dropped) ApplyTypeChange(ApiResource resource, JsonObject service, JsonObject existing)
    {
        var spec = service["spec"] as JsonObject ?? [];
        var old = existing["spec"] as JsonObject ?? [];
        var type = spec["type"]?.GetValue<string>() ?? "ClusterIP";
        spec["type"] = type;
        var oldType = old["type"]?.GetValue<string>() ?? "ClusterIP";
        var before = NodePortsOf(existing);
        var taken = new List<int>();
        var takenIPs = new List<string>();
        var droppedIPs = new List<string>();
        lock (gate)
        {
            try
            {
                if (type == "ExternalName" && oldType != "ExternalName")
                {
                    droppedIPs.AddRange(DropClusterIPs(spec, old));
                }
                else if (type != "ExternalName" && oldType == "ExternalName" && spec["clusterIP"]?.GetValue<string>() is not "None")
                {
                    AssignFamilies(spec);
                    var requested = spec["clusterIP"]?.GetValue<string>() is { Length: > 0 } asked ? asked : null;
                    var assigned = spec["ipFamilies"]!.AsArray().Select((f, i) =>
                    {
                        var ip = i == 0 && requested is not null ? Claim(resource, service, requested) : f!.GetValue<string>() == "IPv6" ? Allocate(ClusterIPv6Base) : Allocate(ClusterIPv4Base);
                        takenIPs.Add(ip);
                        return ip;
                    }).ToList();
                    spec["clusterIP"] = assigned[0];
                    spec["clusterIPs"] = new JsonArray([.. assigned.Select(a => (JsonNode)a)]);
                    spec["internalTrafficPolicy"] ??= "Cluster";
                }
                if (type is "NodePort" or "LoadBalancer")
                {
                    spec["externalTrafficPolicy"] ??= "Cluster";
                    if (type == "LoadBalancer")
                    {
                        spec["allocateLoadBalancerNodePorts"] ??= true;
                    }
                    if (type == "NodePort" || spec["allocateLoadBalancerNodePorts"]?.GetValue<bool>() != false)
                    {
                        foreach (var (port, index) in (spec["ports"] as JsonArray)?.OfType<JsonObject>().Select((p, i) => (p, i)) ?? [])
                        {
                            if (port["nodePort"]?.GetValue<int>() is { } requested)
                            {
                                if (!before.Contains(requested))
                                {
                                    taken.Add(ClaimPort(resource, service, index, requested));
                                }
                            }
                            else
                            {
                                var fresh = AllocatePort();
                                taken.Add(fresh);
                                port["nodePort"] = fresh;
                            }
                        }
                    }
                }
                else if (oldType is "NodePort" or "LoadBalancer")
                {
                    foreach (var port in (spec["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
                    {
                        port.Remove("nodePort");
                    }
                    spec.Remove("externalTrafficPolicy");
                    spec.Remove("healthCheckNodePort");
                }
                if (type != "LoadBalancer")
                {
                    spec.Remove("allocateLoadBalancerNodePorts");
                }
            }
            catch
            {
                foreach (var port in taken)
                {
                    Free(null, port);
                }
                foreach (var ip in takenIPs)
                {
                    Free(ip, null);
                }
                throw;
            }
        }
        var after = NodePortsOf(service);
        return (new ServiceAllocations(takenIPs, taken), new ServiceAllocations(droppedIPs, [.. before.Where(p => !after.Contains(p))]));
    }

    /// <summary>
    /// As upstream's dropTypeDependentFields for a Service becoming ExternalName: the cluster IPs,
    /// families, family policy and internal traffic policy go where the update left them as they
    /// were; the cluster IPs dropped.
    /// </summary>
    private static List<string> DropClusterIPs(JsonObject spec, JsonObject old)
    {
        var dropped = new List<string>();
        if (JsonNode.DeepEquals(spec["clusterIPs"], old["clusterIPs"]) && JsonNode.DeepEquals(spec["clusterIP"], old["clusterIP"]))
        {
            dropped.AddRange((old["clusterIPs"] as JsonArray)?.Select(i => i!.GetValue<string>()).Where(i => i != "None") ?? []);
            spec.Remove("clusterIP");
            spec.Remove("clusterIPs");
        }
        foreach (var field in new[] { "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy" })
        {
            if (JsonNode.DeepEquals(spec[field], old[field]))
            {
                spec.Remove(field);
            }
        }
        return dropped;
    }

    /// <summary>Frees cluster IPs and node ports (a failed write's new ones, or a written one's dropped ones).</summary>
    public void Free(ServiceAllocations allocations)
    {
        lock (gate)
        {
            foreach (var ip in allocations.ClusterIPs)
            {
                Free(ip, null);
            }
            foreach (var port in allocations.NodePorts)
            {
                Free(null, port);
            }
        }
    }

    private static HashSet<int> NodePortsOf(JsonObject service)
    {
        var ports = (service["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>().Select(p => p["nodePort"]?.GetValue<int>()).OfType<int>().ToHashSet() ?? [];
        if (service["spec"]?["healthCheckNodePort"]?.GetValue<int>() is { } health)
        {
            ports.Add(health);
        }
        return ports;
    }

    private void Free(string? ip, int? port)
    {
        if (ip is not null)
        {
            clusterIPs.Remove(ip);
        }
        if (port is { } taken)
        {
            nodePorts.Remove(taken);
        }
    }

    /// <summary>A cluster IP the Service asks for: in the range and free, else a 422 as upstream's.</summary>
    private string Claim(ApiResource resource, JsonObject service, string requested)
    {
        var field = "spec.clusterIPs[0]";
        if (!IPAddress.TryParse(requested, out var address))
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(service), [(field, $"Invalid value: \"{requested}\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]);
        }
        var network = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? ClusterIPv6Base : ClusterIPv4Base;
        var offset = new BigInteger(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true) - new BigInteger(network.GetAddressBytes(), isUnsigned: true, isBigEndian: true);
        if (offset <= 0 || offset >= ClusterIPRange)
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(service),
                [(field, $"Invalid value: \"{requested}\": provided IP is not in the valid range. The range of valid IPs is {network}/{(network == ClusterIPv6Base ? 108 : 12)}")]);
        }
        var canonical = address.ToString();
        if (!clusterIPs.Add(canonical))
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(service), [(field, $"Invalid value: \"{requested}\": provided IP is already allocated")]);
        }
        return canonical;
    }

    /// <summary>A node port the Service asks for: in the range and free, else a 422 as upstream's.</summary>
    private int ClaimPort(ApiResource resource, JsonObject service, int index, int requested)
    {
        var field = $"spec.ports[{index}].nodePort";
        if (requested is < NodePortLow or > NodePortHigh)
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(service),
                [(field, $"Invalid value: {requested}: provided port is not in the valid range. The range of valid ports is {NodePortLow}-{NodePortHigh}")]);
        }
        if (!nodePorts.Add(requested))
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(service), [(field, $"Invalid value: {requested}: provided port is already allocated")]);
        }
        return requested;
    }

    /// <summary>Cluster IPs and node ports are immutable once set: an update keeps the old ones where it drops them.</summary>
    public static void ApplyOnUpdate(JsonObject service, JsonObject existing)
    {
        if (service["spec"] is not JsonObject spec || existing["spec"] is not JsonObject old)
        {
            return;
        }
        foreach (var field in new[] { "clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy", "sessionAffinity" })
        {
            if (spec[field] is null && old[field] is { } kept)
            {
                spec[field] = kept.DeepClone();
            }
        }
        // The first old port of each number, found by a lookup: a scan per port was quadratic in the list.
        var oldPorts = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var previousPort in (old["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            oldPorts.TryAdd(previousPort["port"]?.ToJsonString() ?? "null", previousPort);
        }
        foreach (var port in (spec["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            port["protocol"] ??= "TCP";
            port["targetPort"] ??= port["port"]?.GetValue<int>();
            if (port["nodePort"] is null && oldPorts.GetValueOrDefault(port["port"]?.ToJsonString() ?? "null") is { } previous
                && previous["nodePort"] is { } nodePort)
            {
                port["nodePort"] = nodePort.DeepClone();
            }
        }
    }

    public void Release(JsonObject service)
    {
        lock (gate)
        {
            foreach (var ip in (service["spec"]?["clusterIPs"] as JsonArray)?.Select(i => i!.GetValue<string>()) ?? [])
            {
                clusterIPs.Remove(ip);
            }
            foreach (var port in (service["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                if (port["nodePort"]?.GetValue<int>() is { } nodePort)
                {
                    nodePorts.Remove(nodePort);
                }
            }
            if (service["spec"]?["healthCheckNodePort"]?.GetValue<int>() is { } health)
            {
                nodePorts.Remove(health);
            }
        }
    }

    private static void AssignFamilies(JsonObject spec)
    {
        var policy = spec["ipFamilyPolicy"]?.GetValue<string>() ?? "SingleStack";
        spec["ipFamilyPolicy"] = policy;
        if (spec["ipFamilies"] is JsonArray { Count: > 0 })
        {
            return;
        }
        spec["ipFamilies"] = policy == "SingleStack" ? new JsonArray("IPv4") : new JsonArray("IPv4", "IPv6");
    }

    private string Allocate(IPAddress network)
    {
        var bytes = network.GetAddressBytes();
        var number = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
        for (var attempt = 0; attempt < ClusterIPRange; attempt++)
        {
            var raw = (number + nextIP).ToByteArray(isUnsigned: true, isBigEndian: true);
            var padded = new byte[bytes.Length];
            raw.CopyTo(padded, bytes.Length - raw.Length);
            var candidate = new IPAddress(padded).ToString();
            nextIP = nextIP + 1 >= ClusterIPRange ? 10 : nextIP + 1;
            if (clusterIPs.Add(candidate))
            {
                return candidate;
            }
        }
        throw new ApiException(HttpStatusCode.InternalServerError, "InternalError", "the service cluster IP range is full");
    }

    private int AllocatePort()
    {
        for (var attempt = 0; attempt <= NodePortHigh - NodePortLow; attempt++)
        {
            var candidate = nextPort;
            nextPort = nextPort == NodePortHigh ? NodePortLow : nextPort + 1;
            if (nodePorts.Add(candidate))
            {
                return candidate;
            }
        }
        throw new ApiException(HttpStatusCode.InternalServerError, "InternalError", "the node port range 30000-32767 is full");
    }
}
