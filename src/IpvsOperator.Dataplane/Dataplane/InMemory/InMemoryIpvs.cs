using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.InMemory;

/// <summary>
/// IPVS in memory, for local mode and host tests, refusing what the kernel refuses: a duplicate
/// service or destination (already exists), a missing service, destination or scheduler (not
/// found); listing a missing service's destinations is empty, as the kernel's dump. Destinations
/// are held as the kernel holds them: a new one goes first (list_add at the head of the service's
/// list), an update keeps its place, and a listing gives that order; the mh scheduler builds its
/// table from it, so the agent relies on it.
/// </summary>
public sealed class InMemoryIpvs : IIpvs
{
    private readonly Lock gate = new();
    private readonly Dictionary<VirtualServiceKey, (VirtualService Service, List<Destination> Destinations)> services = [];
    // Only where it differs from the current weight (a destination set to 0 after serving): at
    // 150,000 destinations one entry each would be the twin's largest table.
    private readonly Dictionary<(VirtualServiceKey, IPAddressValue, ushort), uint> drainedTableWeights = [];
    private readonly Dictionary<(VirtualServiceKey, IPAddressValue, ushort), (uint Active, uint Inactive)> connections = [];

    /// <summary>Always empty: the twin holds only the kinds of service the agent makes.</summary>
    public IReadOnlyList<string> Unrepresented => [];

    public IReadOnlyList<VirtualService> ListServices()
    {
        lock (gate)
        {
            return [.. services.Values.Select(s => s.Service)];
        }
    }

    public void AddService(VirtualService service)
    {
        lock (gate)
        {
            CheckScheduler(service, "add");
            if (services.ContainsKey(service.Key))
            {
                throw new DataplaneException(DataplaneError.AlreadyExists, $"add IPVS service {service.Key} ({service.Scheduler})");
            }
            services[service.Key] = (service, []);
        }
    }

    public void UpdateService(VirtualService service)
    {
        lock (gate)
        {
            CheckScheduler(service, "update");
            var entry = Get(service.Key, $"update IPVS service {service.Key}");
            services[service.Key] = entry with { Service = service };
        }
    }

    public void DeleteService(VirtualServiceKey key)
    {
        lock (gate)
        {
            var entry = Get(key, $"delete IPVS service {key}");
            services.Remove(key);
            foreach (var destination in entry.Destinations)
            {
                connections.Remove((key, destination.Address, destination.Port));
                drainedTableWeights.Remove((key, destination.Address, destination.Port));
            }
        }
    }

    /// <summary>As the kernel: a dump of a missing service's destinations is empty, not an error.</summary>
    public IReadOnlyList<Destination> ListDestinations(VirtualServiceKey key)
    {
        lock (gate)
        {
            return services.TryGetValue(key, out var entry) ? [.. entry.Destinations] : [];
        }
    }

    public void AddDestination(VirtualServiceKey key, Destination destination)
    {
        lock (gate)
        {
            var entry = Get(key, $"add destination {destination} to {key}");
            if (entry.Destinations.Any(d => d.Address == destination.Address && d.Port == destination.Port))
            {
                throw new DataplaneException(DataplaneError.AlreadyExists, $"add destination {destination} to {key}");
            }
            entry.Destinations.Insert(0, destination);
        }
    }

    public void UpdateDestination(VirtualServiceKey key, Destination destination)
    {
        lock (gate)
        {
            var entry = Get(key, $"update destination {destination} of {key}");
            var index = entry.Destinations.FindIndex(d => d.Address == destination.Address && d.Port == destination.Port);
            if (index < 0)
            {
                throw new DataplaneException(DataplaneError.NotFound, $"update destination {destination} of {key}");
            }
            var tableWeight = TableWeightOf(key, entry.Destinations[index]);
            entry.Destinations[index] = destination;
            if (destination.Weight == 0 && tableWeight != 0)
            {
                drainedTableWeights[(key, destination.Address, destination.Port)] = tableWeight;
            }
            else
            {
                drainedTableWeights.Remove((key, destination.Address, destination.Port));
            }
        }
    }

    public void DeleteDestination(VirtualServiceKey key, IPAddressValue address, ushort port)
    {
        lock (gate)
        {
            var entry = Get(key, $"delete destination {new Destination(address, port)} of {key}");
            if (entry.Destinations.RemoveAll(d => d.Address == address && d.Port == port) == 0)
            {
                throw new DataplaneException(DataplaneError.NotFound, $"delete destination {new Destination(address, port)} of {key}");
            }
            connections.Remove((key, address, port));
            drainedTableWeights.Remove((key, address, port));
        }
    }

    /// <summary>No traffic passes through memory: a destination holds the connections a test or local mode gave it with <see cref="SetConnections"/>, else none.</summary>
    public IReadOnlyList<DestinationConnections> ListConnections(VirtualServiceKey key)
    {
        lock (gate)
        {
            return services.TryGetValue(key, out var entry)
                ? [.. entry.Destinations.Select(d => Connections(key, d))]
                : [];
        }
    }

    private DestinationConnections Connections(VirtualServiceKey key, Destination destination)
    {
        var (active, inactive) = connections.GetValueOrDefault((key, destination.Address, destination.Port));
        return new DestinationConnections(destination.Address, destination.Port, active, inactive);
    }

    /// <summary>Stands for traffic: the connections an existing destination holds from now on.</summary>
    public void SetConnections(VirtualServiceKey key, IPAddressValue address, ushort port, uint active, uint inactive)
    {
        lock (gate)
        {
            var entry = Get(key, $"set the connections of {new Destination(address, port)} of {key}");
            if (!entry.Destinations.Any(d => d.Address == address && d.Port == port))
            {
                throw new DataplaneException(DataplaneError.NotFound, $"set the connections of {new Destination(address, port)} of {key}");
            }
            connections[(key, address, port)] = (active, inactive);
        }
    }

    /// <summary>
    /// The weight the kernel keeps as a destination's last_weight, which no dump shows and the mh
    /// scheduler builds its table with: the weight it was added with, then the last non-zero one it
    /// was set to (so a destination drained to 0 keeps its slots, one added at 0 has none).
    /// </summary>
    public uint TableWeight(VirtualServiceKey key, IPAddressValue address, ushort port)
    {
        lock (gate)
        {
            var request = $"read the table weight of {new Destination(address, port)} of {key}";
            var destination = Get(key, request).Destinations.Find(d => d.Address == address && d.Port == port)
                ?? throw new DataplaneException(DataplaneError.NotFound, request);
            return TableWeightOf(key, destination);
        }
    }

    private uint TableWeightOf(VirtualServiceKey key, Destination destination) =>
        drainedTableWeights.TryGetValue((key, destination.Address, destination.Port), out var drained) ? drained : destination.Weight;

    /// <summary>No traffic passes through memory: counters are zero, for a service that exists.</summary>
    public ServiceStats GetStats(VirtualServiceKey key)
    {
        lock (gate)
        {
            Get(key, $"read the counters of {key}");
            return new ServiceStats(0, 0, 0, 0, 0);
        }
    }

    private static void CheckScheduler(VirtualService service, string verb)
    {
        if (!IpvsSchedulers.Known.Contains(service.Scheduler))
        {
            throw new DataplaneException(DataplaneError.NotFound, $"{verb} IPVS service {service.Key} ({service.Scheduler})",
                $"no scheduler '{service.Scheduler}'; known: {string.Join(", ", IpvsSchedulers.Known.Order(StringComparer.Ordinal))}");
        }
    }

    private (VirtualService Service, List<Destination> Destinations) Get(VirtualServiceKey key, string request) =>
        services.TryGetValue(key, out var entry) ? entry : throw new DataplaneException(DataplaneError.NotFound, request, $"there is no service {key}");
}
