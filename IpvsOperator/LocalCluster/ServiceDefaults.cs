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
        AssignFamilies(spec);
        lock (gate)
        {
            if (spec["clusterIP"]?.GetValue<string>() is not "None" && type != "ExternalName")
            {
                var assigned = spec["ipFamilies"]!.AsArray().Select(f => f!.GetValue<string>() == "IPv6" ? Allocate(ClusterIPv6Base) : Allocate(ClusterIPv4Base)).ToList();
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
                    foreach (var port in ports!.OfType<JsonObject>())
                    {
                        port["nodePort"] = port["nodePort"]?.GetValue<int>() is { } requested && nodePorts.Add(requested) ? requested : AllocatePort();
                    }
                }
                if (type == "LoadBalancer" && spec["externalTrafficPolicy"]?.GetValue<string>() == "Local")
                {
                    spec["healthCheckNodePort"] ??= AllocatePort();
                }
            }
        }
        spec["internalTrafficPolicy"] ??= "Cluster";
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
        var oldPorts = (old["ports"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        foreach (var port in (spec["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            port["protocol"] ??= "TCP";
            port["targetPort"] ??= port["port"]?.GetValue<int>();
            if (port["nodePort"] is null && oldPorts.FirstOrDefault(p => p["port"]?.ToJsonString() == port["port"]?.ToJsonString()) is { } previous
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
