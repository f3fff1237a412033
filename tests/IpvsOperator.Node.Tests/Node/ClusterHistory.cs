using IpvsOperator.Readers;
using System.Globalization;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Node.Health;
using k8s.Models;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// A random history of the objects a node agent reads, one change at a time: LoadBalancer Services
/// created with claims (alone or sharing an address), deleted, re-created under the same name,
/// their ports, scheduler, forward method, traffic policy, affinity and type changed; their
/// EndpointSlices' endpoints added, removed, made ready, unready or terminating; health checks
/// turned on (draining or resetting) and off, and endpoints failing and passing them; claims deleted
/// by hand and made again; time passing for drains. Reproducible from its seed.
/// </summary>
public sealed class ClusterHistory(int seed)
{
    public const string Node = "local-node";
    public static readonly IReadOnlyList<IPAddressValue> Vips =
        [.. Enumerable.Range(1, 10).Select(i => IPAddressValue.Parse($"198.51.100.{i}")), .. Enumerable.Range(1, 4).Select(i => IPAddressValue.Parse($"2001:db8:51::{i:x}"))];

    private static readonly (string Protocol, int Port)[] PortChoices = [("TCP", 80), ("TCP", 443), ("UDP", 53), ("TCP", 8080), ("SCTP", 9000), ("UDP", 5000)];
    private static readonly string[] Schedulers = ["rr", "rr", "wrr", "lc", "wlc", "sh", "dh", "mh", "no-such-scheduler"];
    private static readonly string[] Methods = ["masq", "masq", "droute", "tunnel", "teleport"];
    private static readonly string[] HealthChecks = ["tcp", "tcp", "http", "ping"];
    private static readonly string[] Resets = ["true", "false", "maybe"];

    private readonly Random random = new(seed);
    private readonly Dictionary<string, V1Service> services = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1EndpointSlice> slices = new(StringComparer.Ordinal);
    private readonly Dictionary<IPAddressValue, V1Alpha1IPAllocation> claims = [];
    private readonly HashSet<string> failing = new(StringComparer.Ordinal);
    private int created;

    /// <summary>How far the clock should move before the next sync (drains end with it).</summary>
    public TimeSpan Elapse { get; private set; }

    /// <summary>The endpoint address whose health verdict the last step flipped (a change no object shows), if any.</summary>
    public IPAddressValue? Flipped { get; private set; }

    public ClusterView View => new([.. claims.Values], [.. services.Values], [.. slices.Values], []);

    /// <summary>The health checker's verdict: the endpoint addresses that fail their checks now.</summary>
    public bool IsDown(ProbeTarget target) => failing.Contains(target.Address.ToString());

    /// <summary>
    /// The virtual services the node must hold, worked out here from the history alone (not by the
    /// agent's builder): every port of every live LoadBalancer Service that a claim names, by uid.
    /// </summary>
    public HashSet<VirtualServiceKey> ExpectedVirtualServices()
    {
        var keys = new HashSet<VirtualServiceKey>();
        foreach (var (vip, claim) in claims)
        {
            foreach (var holder in claim.Holders())
            {
                if (services.TryGetValue(holder.Name, out var service) && service.Metadata.Uid == holder.Uid && service.Spec.Type == "LoadBalancer")
                {
                    keys.UnionWith(service.Spec.Ports.Select(p => new VirtualServiceKey(vip, Enum.Parse<IpvsProtocol>(p.Protocol), (ushort)p.Port)));
                }
            }
        }
        return keys;
    }

    /// <summary>Makes one random change and says what it was.</summary>
    public string Step()
    {
        Elapse = TimeSpan.Zero;
        Flipped = null;
        var names = services.Keys.Order(StringComparer.Ordinal).ToList();
        var pick = random.Next(100);
        if (names.Count == 0 || pick < 18)
        {
            return Create();
        }
        var name = names[random.Next(names.Count)];
        var service = services[name];
        return pick switch
        {
            < 28 => Delete(name),
            < 38 => ChangePorts(service),
            < 44 => Annotate(service, WellKnown.Annotations.Scheduler, Schedulers),
            < 50 => Annotate(service, WellKnown.Annotations.ForwardMethod, Methods),
            < 54 => TogglePolicy(service),
            < 58 => ToggleAffinity(service),
            < 75 => ChangeEndpoints(name),
            < 78 => DeleteSlice(name),
            < 82 => ToggleType(service),
            < 85 => DropClaim(service),
            < 88 => Reclaim(service),
            < 89 => Recreate(service),
            < 91 => CheckHealth(service),
            < 92 => Annotate(service, WellKnown.Annotations.HealthCheckResetConnections, Resets),
            < 95 => FlipHealth(name),
            _ => Wait(),
        };
    }

    private string Create()
    {
        var name = $"svc-{++created}";
        var ports = RandomPorts();
        var shareWith = claims.Values.Where(c => c.Spec.SharingKey == "shared"
            && c.Holders().All(h => !services.TryGetValue(h.Name, out var s) || !s.Spec.Ports.Any(p => ports.Any(q => q.Protocol == p.Protocol && q.Port == p.Port)))).ToList();
        var free = Vips.Where(v => !claims.ContainsKey(v)).ToList();
        var service = NewService(name, ports);
        if (shareWith.Count > 0 && (free.Count == 0 || random.Next(3) == 0))
        {
            var claim = shareWith[random.Next(shareWith.Count)];
            claim.Spec.SharedWith = [.. claim.Spec.SharedWith ?? [], Reference(service)];
            services[name] = service;
            slices[name] = NewSlice(service, claim.Spec.Address);
            return $"create {name} sharing {claim.Spec.Address}";
        }
        if (free.Count == 0)
        {
            return "create nothing: every VIP is claimed";
        }
        var vip = free[random.Next(free.Count)];
        services[name] = service;
        claims[vip] = NewClaim(vip, service, sharingKey: random.Next(2) == 0 ? "shared" : null);
        slices[name] = NewSlice(service, vip.ToString());
        return $"create {name} on {vip} with ports {Describe(ports)}";
    }

    public string Delete(string name)
    {
        var uid = services[name].Metadata.Uid;
        services.Remove(name);
        slices.Remove(name);
        foreach (var (vip, claim) in claims.ToList())
        {
            var holders = claim.Holders().Where(h => h.Uid != uid).ToList();
            if (holders.Count == claim.Holders().Count())
            {
                continue;
            }
            if (holders.Count == 0)
            {
                claims.Remove(vip);
            }
            else
            {
                claim.Spec.ServiceRef = holders[0];
                claim.Spec.SharedWith = holders.Count > 1 ? [.. holders.Skip(1)] : null;
            }
        }
        return $"delete {name}";
    }

    private string ChangePorts(V1Service service)
    {
        service.Spec.Ports = RandomPorts();
        // The EndpointSlice controller follows, most of the time before the agent looks.
        if (random.Next(4) != 0 && slices.TryGetValue(service.Metadata.Name, out var slice))
        {
            slice.Ports = SlicePorts(service);
        }
        return $"ports of {service.Metadata.Name} now {Describe(service.Spec.Ports)}";
    }

    private string Annotate(V1Service service, string annotation, string[] values)
    {
        var value = values[random.Next(values.Length)];
        service.Metadata.Annotations ??= new Dictionary<string, string>();
        service.Metadata.Annotations[annotation] = value;
        return $"{service.Metadata.Name}: {annotation}={value}";
    }

    /// <summary>
    /// A health check turned on or changed, on a TCP port of its own (which any Service may use,
    /// UDP and SCTP ones too), so that its down endpoints are held at weight 0.
    /// </summary>
    private string CheckHealth(V1Service service)
    {
        var change = Annotate(service, WellKnown.Annotations.HealthCheck, HealthChecks);
        service.Metadata.Annotations[WellKnown.Annotations.HealthCheckPort] = "10080";
        return $"{change}, port 10080";
    }

    private static string TogglePolicy(V1Service service)
    {
        service.Spec.ExternalTrafficPolicy = service.Spec.ExternalTrafficPolicy == "Local" ? "Cluster" : "Local";
        return $"{service.Metadata.Name}: externalTrafficPolicy {service.Spec.ExternalTrafficPolicy}";
    }

    private string ToggleAffinity(V1Service service)
    {
        var on = service.Spec.SessionAffinity != "ClientIP";
        service.Spec.SessionAffinity = on ? "ClientIP" : "None";
        service.Spec.SessionAffinityConfig = on && random.Next(2) == 0 ? new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = random.Next(1, 3600) } } : null;
        return $"{service.Metadata.Name}: sessionAffinity {service.Spec.SessionAffinity}";
    }

    private string ChangeEndpoints(string name)
    {
        var service = services[name];
        var vip = claims.FirstOrDefault(c => c.Value.Holders().Any(h => h.Uid == service.Metadata.Uid)).Value?.Spec.Address;
        if (!slices.TryGetValue(name, out var slice))
        {
            slices[name] = NewSlice(service, vip ?? "198.51.100.1");
            return $"{name}: a new EndpointSlice";
        }
        var endpoints = slice.Endpoints.ToList();
        var what = random.Next(4);
        if (what == 0 || endpoints.Count == 0)
        {
            endpoints.Add(NewEndpoint(slice.AddressType));
        }
        else if (what == 1)
        {
            endpoints.RemoveAt(random.Next(endpoints.Count));
        }
        else
        {
            var endpoint = endpoints[random.Next(endpoints.Count)];
            endpoint.Conditions = RandomConditions();
        }
        slice.Endpoints = endpoints;
        return $"{name}: endpoints now {string.Join(", ", endpoints.Select(e => $"{e.Addresses[0]}@{e.NodeName}{(e.Conditions?.Ready == false ? (e.Conditions.Terminating == true ? "(terminating)" : "(unready)") : string.Empty)}"))}";
    }

    /// <summary>One endpoint of the Service starts failing its health check, or passes again.</summary>
    private string FlipHealth(string name)
    {
        var addresses = slices.TryGetValue(name, out var slice) ? slice.Endpoints.Select(e => e.Addresses[0]).ToList() : [];
        if (addresses.Count == 0)
        {
            return $"{name}: no endpoint to fail or pass";
        }
        var address = addresses[random.Next(addresses.Count)];
        Flipped = IPAddressValue.Parse(address);
        return failing.Add(address) ? $"{address} fails its health check" : failing.Remove(address) ? $"{address} passes its health check again" : string.Empty;
    }

    private string DeleteSlice(string name) => slices.Remove(name) ? $"{name}: EndpointSlice deleted" : $"{name}: no EndpointSlice to delete";

    private static string ToggleType(V1Service service)
    {
        service.Spec.Type = service.Spec.Type == "LoadBalancer" ? "ClusterIP" : "LoadBalancer";
        return $"{service.Metadata.Name}: type {service.Spec.Type}";
    }

    private string DropClaim(V1Service service)
    {
        var held = claims.Where(c => c.Value.Spec.ServiceRef.Uid == service.Metadata.Uid && c.Value.Spec.SharedWith is null).Select(c => c.Key).ToList();
        if (held.Count == 0)
        {
            return $"{service.Metadata.Name}: no claim of its own to delete";
        }
        claims.Remove(held[0]);
        return $"{service.Metadata.Name}: claim of {held[0]} deleted by hand";
    }

    private string Reclaim(V1Service service)
    {
        if (claims.Values.Any(c => c.Holders().Any(h => h.Uid == service.Metadata.Uid)))
        {
            return $"{service.Metadata.Name}: holds a claim already";
        }
        var free = Vips.Where(v => !claims.ContainsKey(v)).ToList();
        if (free.Count == 0)
        {
            return $"{service.Metadata.Name}: no free VIP to claim";
        }
        var vip = free[random.Next(free.Count)];
        claims[vip] = NewClaim(vip, service, sharingKey: null);
        return $"{service.Metadata.Name}: claims {vip}";
    }

    private static string Recreate(V1Service service)
    {
        // Deleted and created again under the same name before the claim went: a new uid the claim does not name.
        service.Metadata.Uid = Guid.NewGuid().ToString();
        return $"{service.Metadata.Name}: re-created (new uid)";
    }

    private string Wait()
    {
        Elapse = TimeSpan.FromSeconds(random.Next(5, 45));
        return $"{Elapse.TotalSeconds} s pass";
    }

    private List<V1ServicePort> RandomPorts() =>
        [.. PortChoices.OrderBy(_ => random.Next()).Take(random.Next(1, 4))
            .Select(p => new V1ServicePort { Name = $"p{p.Port}", Protocol = p.Protocol, Port = p.Port, TargetPort = p.Port + 10000, NodePort = 30000 + p.Port % 2000 })];

    private V1Service NewService(string name, List<V1ServicePort> ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "default", Uid = Guid.NewGuid().ToString(), Annotations = new Dictionary<string, string>() },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", ExternalTrafficPolicy = random.Next(4) == 0 ? "Local" : "Cluster", SessionAffinity = "None", Ports = ports },
    };

    private static V1Alpha1IPAllocation NewClaim(IPAddressValue vip, V1Service service, string? sharingKey) => new()
    {
        Metadata = new V1ObjectMeta { Name = AllocationNames.For(vip) },
        Spec = new IPAllocationSpec { Address = vip.ToString(), Pool = "pool", ServiceRef = Reference(service), SharingKey = sharingKey },
    };

    private static ServiceReference Reference(V1Service service) =>
        new() { Namespace = "default", Name = service.Metadata.Name, Uid = service.Metadata.Uid };

    private V1EndpointSlice NewSlice(V1Service service, string vip)
    {
        var addressType = vip.Contains(':', StringComparison.Ordinal) ? "IPv6" : "IPv4";
        return new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = $"{service.Metadata.Name}-abcde", NamespaceProperty = "default",
                Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service.Metadata.Name },
            },
            AddressType = addressType,
            Ports = SlicePorts(service),
            Endpoints = [.. Enumerable.Range(0, random.Next(0, 4)).Select(_ => NewEndpoint(addressType))],
        };
    }

    private static List<Discoveryv1EndpointPort> SlicePorts(V1Service service) =>
        [.. service.Spec.Ports.Select(p => new Discoveryv1EndpointPort { Name = p.Name, Protocol = p.Protocol, Port = p.Port + 10000 })];

    private V1Endpoint NewEndpoint(string addressType) => new()
    {
        Addresses = [addressType == "IPv6" ? $"fd00:1::{random.Next(1, 40):x}" : $"10.1.0.{random.Next(1, 40)}"],
        NodeName = random.Next(3) == 0 ? Node : "other-node",
        Conditions = RandomConditions(),
    };

    private V1EndpointConditions RandomConditions() => random.Next(6) switch
    {
        0 => new V1EndpointConditions { Ready = false, Serving = true, Terminating = true },
        1 => new V1EndpointConditions { Ready = false, Serving = false, Terminating = false },
        _ => new V1EndpointConditions { Ready = true, Serving = true, Terminating = false },
    };

    private static string Describe(IEnumerable<V1ServicePort> ports) =>
        string.Join(",", ports.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Port}/{p.Protocol}")));
}
