using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

/// <summary>Traffic counters of a virtual service since it was created.</summary>
public sealed record ServiceStats(ulong Connections, ulong PacketsIn, ulong PacketsOut, ulong BytesIn, ulong BytesOut);

/// <summary>
/// Linux IPVS: virtual services and their destinations. The netlink implementation and the
/// in-memory one behave alike, errors included (a <see cref="DataplaneException"/> that already
/// exists for a duplicate, not found for a missing object), so one contract suite holds both to it.
/// </summary>
public interface IIpvs
{
    /// <summary>The services keyed by address, protocol and port: the only kind the agent makes.</summary>
    IReadOnlyList<VirtualService> ListServices();

    /// <summary>
    /// What the last <see cref="ListServices"/> saw and left out, described (a firewall-mark
    /// service, say): services of kinds the agent never makes, so never its own, never touched.
    /// </summary>
    IReadOnlyList<string> Unrepresented { get; }

    void AddService(VirtualService service);

    void UpdateService(VirtualService service);

    void DeleteService(VirtualServiceKey key);

    IReadOnlyList<Destination> ListDestinations(VirtualServiceKey key);

    void AddDestination(VirtualServiceKey key, Destination destination);

    void UpdateDestination(VirtualServiceKey key, Destination destination);

    void DeleteDestination(VirtualServiceKey key, IPAddressValue address, ushort port);

    /// <summary>The connections each destination of a service holds now; empty for a missing service, as <see cref="ListDestinations"/>.</summary>
    IReadOnlyList<DestinationConnections> ListConnections(VirtualServiceKey key);

    /// <summary>
    /// Makes the changes in order, each as its own method would, and returns those refused, by
    /// index, with why: a refused change does not stop the ones after it. The netlink client sends
    /// them several to a datagram instead of one round trip each.
    /// </summary>
    IReadOnlyList<(int Index, DataplaneException Error)> ApplyAll(IReadOnlyList<IpvsChange> changes)
    {
        var refused = new List<(int, DataplaneException)>();
        for (var i = 0; i < changes.Count; i++)
        {
            try
            {
                changes[i].ApplyTo(this);
            }
            catch (DataplaneException error)
            {
                refused.Add((i, error));
            }
        }
        return refused;
    }

    /// <summary>
    /// The counters of one service; not found when it does not exist. The kernel sums its per-CPU
    /// counters every 2 s, so they lag the traffic by up to that.
    /// </summary>
    ServiceStats GetStats(VirtualServiceKey key);
}
