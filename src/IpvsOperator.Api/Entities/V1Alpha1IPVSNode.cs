using System.Text.Json.Serialization;
using IpvsOperator.Runtime.Entities;
using k8s.Models;

namespace IpvsOperator.Entities;

/// <summary>
/// What the node agent on one node is and does, written only by that agent: its version and the
/// flags that matter in the spec, and in the status whether it is ready, its last sync and what the
/// kernel serves (VIPs bound and announced, IPVS virtual services and destinations). Named after
/// the node, owned by its Node object, so it goes when the Node goes.
/// </summary>
[KubernetesEntity(Group = WellKnown.Group, ApiVersion = WellKnown.Version, Kind = KindName, PluralName = Plural)]
[EntityScope(EntityScope.Cluster)]
[KubernetesEntityShortNames("ipvsn")]
[Description("The node agent on one node and what its kernel serves, named after the node. Written by that node's agent; deleted with its Node.")]
[PrinterColumn("Ready", ".status.ready", "boolean")]
[PrinterColumn("VIPs", ".status.vipsBound", "integer", Description = "VIPs bound on the bind interface")]
[PrinterColumn("Announced", ".status.vipsAnnounced", "integer", Description = "VIPs this node announces (layer 2 or BGP)")]
[PrinterColumn("Services", ".status.virtualServices", "integer", Description = "IPVS virtual services")]
[PrinterColumn("Destinations", ".status.destinations", "integer", Priority = 1)]
[PrinterColumn("Last Sync", ".status.lastSync.result", "string")]
[PrinterColumn("Synced", ".status.lastSync.time", "date")]
[PrinterColumn("Version", ".spec.version", "string", Priority = 1)]
[PrinterColumn("Announce", ".spec.announce", "string", Priority = 1)]
[PrinterColumn("BGP", ".status.bgp.established", "string", Priority = 1, Description = "BGP sessions established of those configured")]
[PrinterColumn("BGP Sessions", ".status.bgp.summary", "string", Priority = 1)]
public sealed class V1Alpha1IPVSNode : CustomKubernetesEntity<IPVSNodeSpec, IPVSNodeStatus>
{
    public const string KindName = "IPVSNode";
    public const string Plural = "ipvsnodes";
}

public sealed class IPVSNodeSpec
{
    [JsonPropertyName("version")]
    [Description("The agent's version.")]
    public string? Version { get; set; }

    public const string NativeAotBuild = "NativeAOT";
    public const string JitBuild = "JIT";

    [JsonPropertyName("build")]
    [Description("How the agent was compiled: NativeAOT (the image's ipvs-operator-node) or JIT (ipvs-operator node, as in local mode).")]
    public string? Build { get; set; }

    [JsonPropertyName("announce")]
    [Description("How the VIPs reach this node: l2 (ARP/NDP from the node holding each VIP), bgp (routes to the BGPPeers), l2,bgp, or none.")]
    public string? Announce { get; set; }

    [JsonPropertyName("announceInterface")]
    [Description("The interface layer 2 announcements go out on (empty: the default route's).")]
    public string? AnnounceInterface { get; set; }

    [JsonPropertyName("bindInterface")]
    [Description("The dummy interface the VIPs are bound on.")]
    public string? BindInterface { get; set; }

    [JsonPropertyName("forwardTo")]
    [Description("Where IPVS sends a VIP's connections: endpoints (pod addresses) or nodeport.")]
    public string? ForwardTo { get; set; }

    [JsonPropertyName("syncPeriodSeconds")]
    [Description("How often the agent re-syncs the kernel in full (repairing drift).")]
    public int? SyncPeriodSeconds { get; set; }
}

public sealed class IPVSNodeStatus
{
    [JsonPropertyName("ready")]
    [Description("Whether the agent is ready (its /readyz): the kernel was synced, and syncs are not failing.")]
    public bool Ready { get; set; }

    [JsonPropertyName("lastSync")]
    [Description("The last sync of the kernel with the cluster.")]
    public IPVSNodeSync? LastSync { get; set; }

    [JsonPropertyName("lastSuccessfulSyncTime")]
    [Description("When a sync last completed.")]
    public DateTime? LastSuccessfulSyncTime { get; set; }

    [JsonPropertyName("driftRepaired")]
    [Description("Kernel changes the last periodic sync made: drift it repaired (rules deleted by hand, addresses removed).")]
    public int DriftRepaired { get; set; }

    [JsonPropertyName("vipsBound")]
    [Description("VIPs bound on the bind interface.")]
    public int VipsBound { get; set; }

    [JsonPropertyName("vipsAnnounced")]
    [Description("VIPs this node announces: answers ARP/NDP for (layer 2) or advertises a route to (BGP).")]
    public int VipsAnnounced { get; set; }

    [JsonPropertyName("vips")]
    [ListMap("address")]
    [Items(MaxItems = IPVSNodeStatus.MaxListedVips)]
    [Description("The VIPs bound here and whether this node announces them (the first 256 in address order; vipsBound counts them all).")]
    public List<IPVSNodeVip>? Vips { get; set; }

    [JsonPropertyName("virtualServices")]
    [Description("IPVS virtual services the agent programmed.")]
    public int VirtualServices { get; set; }

    [JsonPropertyName("destinations")]
    [Description("IPVS destinations the agent programmed (draining ones included).")]
    public int Destinations { get; set; }

    [JsonPropertyName("drainingDestinations")]
    [Description("Destinations at weight 0, waiting for the drain timeout.")]
    public int DrainingDestinations { get; set; }

    [JsonPropertyName("announcementProblem")]
    [Description("Why this node cannot announce VIPs now (empty: it can).")]
    public string? AnnouncementProblem { get; set; }

    [JsonPropertyName("bgp")]
    [Description("This node's BGP sessions and what it advertises (absent when BGP is off).")]
    public IPVSNodeBgp? Bgp { get; set; }

    [JsonPropertyName("connectionSync")]
    [Description("This node's IPVS connection sync daemons, which let connections survive a layer 2 failover (absent when --connection-sync-interface is unset).")]
    public IPVSNodeConnectionSync? ConnectionSync { get; set; }

    [JsonPropertyName("connectionsSampledAt")]
    [Description("When the connection counts of vips[].services[].destinations[] were read from the kernel (every 30 s at most; they alone never cause a write, so they may be up to a minute and a half old).")]
    public DateTime? ConnectionsSampledAt { get; set; }

    /// <summary>How many VIPs the status lists by name: its size stays bounded whatever the cluster.</summary>
    public const int MaxListedVips = 256;

    /// <summary>How many virtual services the listed VIPs show in all, in VIP and port order.</summary>
    public const int MaxListedVirtualServices = 512;

    /// <summary>How many destinations those virtual services show in all: about 150 KiB of status at most.</summary>
    public const int MaxListedDestinations = 1024;
}

public sealed class IPVSNodeSync
{
    [JsonPropertyName("time")]
    [Description("When it ended.")]
    public DateTime? Time { get; set; }

    [JsonPropertyName("durationMilliseconds")]
    [Description("How long it took.")]
    public long DurationMilliseconds { get; set; }

    [JsonPropertyName("trigger")]
    [Description("What started it: change, periodic, drain or retry.")]
    public string? Trigger { get; set; }

    [JsonPropertyName("result")]
    [Description("ok: every operation applied; partial: some refused by the kernel; failed: the sync failed as a whole.")]
    public string? Result { get; set; }

    [JsonPropertyName("kernelWrites")]
    [Description("Changes it made to the kernel.")]
    public int KernelWrites { get; set; }

    [JsonPropertyName("message")]
    [Description("Why it failed or was partial.")]
    public string? Message { get; set; }
}

public sealed class IPVSNodeVip
{
    [JsonPropertyName("address")]
    [Required]
    public string Address { get; set; } = string.Empty;

    [JsonPropertyName("announced")]
    [Description("How this node announces it: l2 (it answers ARP/NDP), bgp (it advertises a route), l2,bgp; empty when it does not (another node does, or nobody).")]
    public string? Announced { get; set; }

    [JsonPropertyName("choiceDigest")]
    [Description("For a VIP whose virtual services every node must schedule alike (mh, from a pool with consistentHashing or by annotation; not externalTrafficPolicy Local): a digest of what the choice of backend depends on (scheduler, flags, destinations in the kernel's order with their weights, sloppy TCP/SCTP). Every node serving the VIP should show the same; one that differs sends some flows the router moves to it to another backend.")]
    public string? ChoiceDigest { get; set; }

    [JsonPropertyName("virtualServiceCount")]
    [Description("The IPVS virtual services this node programs on the VIP (services lists them while the node's listing budget lasts).")]
    public int VirtualServiceCount { get; set; }

    [JsonPropertyName("services")]
    [Items(MaxItems = IPVSNodeStatus.MaxListedVirtualServices)]
    [Description("The VIP's IPVS virtual services as this node programs them, with their destinations: what `kubectl ipvs status` shows. A node lists at most 512 virtual services and 1,024 destinations in all, in VIP and port order.")]
    public List<IPVSNodeVirtualService>? Services { get; set; }
}

public sealed class IPVSNodeVirtualService
{
    [JsonPropertyName("protocol")]
    [Required]
    [Description("TCP, UDP or SCTP.")]
    public string Protocol { get; set; } = string.Empty;

    [JsonPropertyName("port")]
    [Description("The VIP's port.")]
    public int Port { get; set; }

    [JsonPropertyName("scheduler")]
    [Description("The IPVS scheduler (rr, wrr, lc, mh, ...), with persistence if the Service is sticky.")]
    public string? Scheduler { get; set; }

    [JsonPropertyName("destinationCount")]
    [Description("The destinations programmed (destinations lists them while the node's listing budget lasts).")]
    public int DestinationCount { get; set; }

    [JsonPropertyName("destinations")]
    [Items(MaxItems = IPVSNodeStatus.MaxListedDestinations)]
    public List<IPVSNodeDestination>? Destinations { get; set; }
}

public sealed class IPVSNodeDestination
{
    [JsonPropertyName("address")]
    [Required]
    public string Address { get; set; } = string.Empty;

    [JsonPropertyName("port")]
    public int Port { get; set; }

    [JsonPropertyName("weight")]
    [Description("The weight in the kernel: 0 takes no new connections (health check failing, draining).")]
    public long Weight { get; set; }

    [JsonPropertyName("health")]
    [Description("passing or failing, as this node's health check of the endpoint finds it; empty when the Service has no health check.")]
    public string? Health { get; set; }

    [JsonPropertyName("draining")]
    [Description("True while the endpoint left its Service or is terminating: its established connections go on, it takes no new ones, and it goes when the drain timeout ends.")]
    public bool? Draining { get; set; }

    [JsonPropertyName("activeConnections")]
    [Description("Established TCP connections the kernel holds to it, at connectionsSampledAt; empty before the first sample.")]
    public long? ActiveConnections { get; set; }

    [JsonPropertyName("inactiveConnections")]
    [Description("Its other connections (opening, closing, TIME_WAIT, UDP), at connectionsSampledAt.")]
    public long? InactiveConnections { get; set; }
}

public sealed class IPVSNodeConnectionSync
{
    [JsonPropertyName("interface")]
    [Required]
    [Description("The interface the daemons send and receive on (multicast group 224.0.0.81, UDP 8848).")]
    public string Interface { get; set; } = string.Empty;

    [JsonPropertyName("syncId")]
    [Description("The sync id: a backup takes only what masters of the same id send.")]
    public int SyncId { get; set; }

    [JsonPropertyName("running")]
    [Description("The daemons that run as asked: master,backup when all is well.")]
    public string? Running { get; set; }

    [JsonPropertyName("syncedConnections")]
    [Description("Connection entries received from other nodes, as counted at the last periodic sync: what a takeover here keeps.")]
    public int? SyncedConnections { get; set; }

    [JsonPropertyName("problem")]
    [Description("Why a daemon does not run (empty: both run).")]
    public string? Problem { get; set; }
}

public sealed class IPVSNodeBgp
{
    [JsonPropertyName("established")]
    [Description("Sessions established of those configured, as n/m.")]
    public string Established { get; set; } = "0/0";

    [JsonPropertyName("prefixesAnnounced")]
    [Description("Prefixes this node announces (VIPs, or their pools' aggregates).")]
    public int PrefixesAnnounced { get; set; }

    [JsonPropertyName("withdrawn")]
    [Description("Why this node announces nothing now (its sync is failing, it is stopping); empty: it announces.")]
    public string? Withdrawn { get; set; }

    [JsonPropertyName("problem")]
    [Description("Why the BGP configuration cannot be applied (peers that contradict each other, FRR unreachable); empty: it is applied.")]
    public string? Problem { get; set; }

    [JsonPropertyName("summary")]
    [Description("Every session in a few words, separated by semicolons, for kubectl get -o wide.")]
    public string? Summary { get; set; }

    [JsonPropertyName("sessions")]
    [ListMap("peer")]
    [Items(MaxItems = 64)]
    [Description("One entry per BGPPeer that selects this node.")]
    public List<IPVSNodeBgpSession>? Sessions { get; set; }
}

public sealed class IPVSNodeBgpSession
{
    [JsonPropertyName("peer")]
    [Required]
    [Description("The BGPPeer's name.")]
    public string Peer { get; set; } = string.Empty;

    [JsonPropertyName("address")]
    [Description("The peer's address.")]
    public string? Address { get; set; }

    [JsonPropertyName("state")]
    [Description("The session's BGP state as FRR reports it: Established, Active, Connect, OpenSent, OpenConfirm, Idle; NotConfigured when the agent could not configure it.")]
    public string? State { get; set; }

    [JsonPropertyName("prefixesAdvertised")]
    [Description("Prefixes sent to the peer.")]
    public int PrefixesAdvertised { get; set; }

    [JsonPropertyName("bfd")]
    [Description("The BFD session's state (Up, Down, Init, AdminDown); empty without BFD.")]
    public string? Bfd { get; set; }

    [JsonPropertyName("message")]
    [Description("Why the session is not established: the last error FRR reports, or a configuration problem (a missing password Secret).")]
    public string? Message { get; set; }

    [JsonPropertyName("summary")]
    [Description("The above in a few words.")]
    public string? Summary { get; set; }
}
