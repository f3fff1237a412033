using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Ipvs;
using IpvsOperator.Dataplane.Neighbours;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Dataplane.Nftables;
using IpvsOperator.Node;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Commands;

/// <summary>The kernel interfaces a node agent is given: this node's kernel, or the in-memory twins.</summary>
internal static class NodeDataplaneFactory
{
    /// <param name="frr">Where FRR is, when the agent announces over BGP on this node (null: the in-memory stand-in, as in local mode).</param>
    public static NodeDataplane Create(DataplaneKind kind, ILoggerFactory loggers, string procSys = "/proc/sys", FrrPaths? frr = null)
    {
        if (kind != DataplaneKind.Kernel)
        {
            return InMemory();
        }
        var ipvs = IpvsNetlink.Open();
        try
        {
            var sysctl = new ProcSysctl(procSys);
            return new NodeDataplane(ipvs, RouteNetlink.Open(), new NftablesNetfilter(sysctl, loggers.CreateLogger<NftablesNetfilter>()), new PacketSocketAdvertiser(), sysctl)
            {
                Prober = new PacketSocketProber(),
                Bgp = frr is null ? new InMemoryBgpSpeaker() : new FrrSpeaker(frr, loggers.CreateLogger<FrrSpeaker>()),
                ConnectionSync = ipvs,
            };
        }
        catch
        {
            ipvs.Dispose(); // the process goes on (local mode, tests): do not leak the socket
            throw;
        }
    }

    /// <summary>The in-memory twins, with an uplink eth0 that the default route leaves by.</summary>
    public static NodeDataplane InMemory(TimeProvider? time = null)
    {
        var links = new InMemoryAddressManager(time);
        links.AddLink("eth0", "veth");
        links.DefaultRoute = "eth0";
        return new NodeDataplane(new InMemoryIpvs(), links, new InMemoryNetfilter(), new InMemoryNeighbourAdvertiser(), new InMemorySysctl())
        {
            Prober = new InMemoryNeighbourProber(),
            Bgp = new InMemoryBgpSpeaker(),
            ConnectionSync = new InMemoryConnectionSync(name => links.ListLinks().Any(l => l.Name == name)),
        };
    }
}
