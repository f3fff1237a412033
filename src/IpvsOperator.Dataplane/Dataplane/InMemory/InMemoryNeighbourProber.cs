using System.Collections.Concurrent;
using System.Net.NetworkInformation;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Neighbours;

namespace IpvsOperator.Dataplane.InMemory;

/// <summary>A LAN in memory: the devices a test says hold an address answer its probes at once; local mode's LAN holds none.</summary>
public sealed class InMemoryNeighbourProber : INeighbourProber
{
    private readonly ConcurrentDictionary<IPAddressValue, PhysicalAddress> devices = new();
    private readonly ConcurrentQueue<IPAddressValue> probes = new();

    /// <summary>Every address probed so far, in order.</summary>
    public IReadOnlyList<IPAddressValue> Probed => [.. probes];

    /// <summary>A device on the LAN now holds <paramref name="address"/> (null: none does any more).</summary>
    public void Hold(IPAddressValue address, PhysicalAddress? device)
    {
        if (device is null)
        {
            devices.TryRemove(address, out _);
        }
        else
        {
            devices[address] = device;
        }
    }

    public Task<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>> ProbeAsync(LinkInfo link, IReadOnlyCollection<IPAddressValue> addresses, TimeSpan window, CancellationToken cancellationToken)
    {
        var answered = new Dictionary<IPAddressValue, PhysicalAddress>();
        foreach (var address in addresses)
        {
            probes.Enqueue(address);
            if (devices.TryGetValue(address, out var device) && !device.Equals(link.HardwareAddress))
            {
                answered[address] = device;
            }
        }
        return Task.FromResult<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>>(answered);
    }
}
