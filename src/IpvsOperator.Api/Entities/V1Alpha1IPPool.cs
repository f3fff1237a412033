using System.Text.Json.Serialization;
using IpvsOperator.Runtime.Entities;
using k8s.Models;

namespace IpvsOperator.Entities;

[KubernetesEntity(Group = WellKnown.Group, ApiVersion = WellKnown.Version, Kind = "IPPool", PluralName = "ippools")]
[EntityScope(EntityScope.Cluster)]
[KubernetesEntityShortNames("ippool")]
[Description("A pool of addresses that LoadBalancer Services are given addresses from.")]
[PrinterColumn("Addresses", ".spec.addresses", "string")]
[PrinterColumn("Auto Assign", ".spec.autoAssign", "boolean")]
[PrinterColumn("Ready", ".status.conditions[?(@.type==\"Ready\")].status", "string", Description = "Valid and used by the allocator (False: see the condition's message)")]
[PrinterColumn("Exhausted", ".status.conditions[?(@.type==\"Exhausted\")].status", "string", Description = "No address of a family is free")]
[PrinterColumn("IPv4 Available", ".status.ipv4.available", "string")]
[PrinterColumn("IPv6 Available", ".status.ipv6.available", "string")]
[PrinterColumn("Priority", ".spec.priority", "integer", Priority = 1)]
[PrinterColumn("Age", ".metadata.creationTimestamp", "date")]
public sealed class V1Alpha1IPPool : CustomKubernetesEntity<IPPoolSpec, IPPoolStatus>
{
    public const string KindName = "IPPool";
    public const string Plural = "ippools";
}

public sealed class IPPoolSpec
{
    /// <summary>Entries a pool may list: a bound on what one admission costs, far beyond what a pool needs (a CIDR holds any number of addresses).</summary>
    public const int MaxAddresses = 4096;

    /// <summary>Characters an entry may have: the longest range of two IPv6 addresses written out in full is 79.</summary>
    public const int MaxAddressLength = 100;

    [JsonPropertyName("addresses")]
    [Required]
    [Items(MinItems = 1, MaxItems = MaxAddresses)]
    [Length(MaxLength = MaxAddressLength)]
    [Description("The addresses of the pool, each a CIDR (192.0.2.0/28, 2001:db8::/120), a range (192.0.2.10-192.0.2.20) or a single address. Entries may mix families but may not overlap each other or another pool.")]
    public List<string> Addresses { get; set; } = [];

    [JsonPropertyName("autoAssign")]
    [Default("true")]
    [Description("When false, only Services that ask for this pool (ipvsoperator.io/address-pool) or for one of its addresses get an address from it.")]
    public bool AutoAssign { get; set; } = true;

    [JsonPropertyName("avoidBuggyIPs")]
    [Default("false")]
    [Description("Skip IPv4 addresses ending in .0 and .255, which some old clients and routers mistake for network or broadcast addresses. Applies to new assignments; a Service already on such an address keeps it.")]
    public bool AvoidBuggyIPs { get; set; }

    [JsonPropertyName("priority")]
    [Default("0")]
    [Description("Pools with a lower priority are tried first; ties go by name.")]
    public int Priority { get; set; }

    [JsonPropertyName("announce")]
    [Description("How the pool's addresses reach the network. Absent: every way the node agents announce (their --announce flag).")]
    public PoolAnnouncement? Announce { get; set; }

    [JsonPropertyName("serviceAllocation")]
    [Description("Which Services may draw from this pool. Every constraint that is set must hold; unset means every Service.")]
    public ServiceAllocation? ServiceAllocation { get; set; }
}

// Worded as the webhook's PoolAnnouncementReader words them, whichever refuses first.
[ValidationRule("!has(self.bgp) || 'bgp' in self.modes", Message = "spec.announce.bgp is set but spec.announce.modes does not include bgp",
    MessageExpression = "'spec.announce.bgp is set but spec.announce.modes [' + (size(self.modes) == 1 ? self.modes[0] : self.modes[0] + ', ' + self.modes[1]) + '] does not include bgp'",
    FieldPath = ".bgp")]
public sealed class PoolAnnouncement
{
    public const string Layer2Mode = "layer2";
    public const string BgpMode = "bgp";

    [JsonPropertyName("modes")]
    [ListSet]
    [Items(MinItems = 1, MaxItems = 2)]
    [Length(MaxLength = 16)]
    [ValidationRule("self.all(m, m == 'layer2' || m == 'bgp')", Message = "spec.announce.modes: a mode is not a way to announce; valid: layer2, bgp",
        MessageExpression = "'spec.announce.modes: \\'' + self.filter(m, m != 'layer2' && m != 'bgp')[0] + '\\' is not a way to announce; valid: layer2, bgp'")]
    [Description("layer2 (ARP/NDP from one node per address), bgp (routes from every node that may announce, to the BGPPeers), or both.")]
    public List<string> Modes { get; set; } = [Layer2Mode, BgpMode];

    [JsonPropertyName("bgp")]
    [Description("What the BGP announcements of the pool's addresses carry, and which nodes make them.")]
    public PoolBgpAnnouncement? Bgp { get; set; }
}

public sealed class PoolBgpAnnouncement
{
    [JsonPropertyName("communities")]
    [ListSet]
    [Items(MaxItems = 32)]
    [Length(MaxLength = 32)]
    [Description("Standard communities to attach: AA:NN (each 0 to 65535) or no-export, no-advertise, local-AS, no-peer, blackhole, graceful-shutdown.")]
    public List<string>? Communities { get; set; }

    [JsonPropertyName("largeCommunities")]
    [ListSet]
    [Items(MaxItems = 32)]
    [Length(MaxLength = 40)]
    [Description("Large communities to attach: A:B:C, each 0 to 4294967295.")]
    public List<string>? LargeCommunities { get; set; }

    [JsonPropertyName("localPreference")]
    [RangeMinimum(0)]
    [RangeMaximum(4294967295)]
    [Description("LOCAL_PREF for iBGP peers (eBGP peers ignore it).")]
    public long? LocalPreference { get; set; }

    [JsonPropertyName("aggregationLength")]
    [RangeMinimum(1)]
    [RangeMaximum(32)]
    [Description("Announce each IPv4 address as the prefix of this length that holds it (one route for many VIPs), not as a /32. Only for Services with externalTrafficPolicy Cluster: any node can serve any of them. At least the longest prefix of the pool's entries (a range counts as the fewest CIDRs covering it): a shorter one would announce addresses outside the pool, and is refused.")]
    public int? AggregationLength { get; set; }

    [JsonPropertyName("aggregationLengthV6")]
    [RangeMinimum(1)]
    [RangeMaximum(128)]
    [Description("The same for IPv6 addresses, instead of a /128.")]
    public int? AggregationLengthV6 { get; set; }

    [JsonPropertyName("nodeSelector")]
    [Description("The nodes that announce the pool's addresses over BGP; empty: every node with BGP on.")]
    public V1LabelSelector? NodeSelector { get; set; }

    [JsonPropertyName("consistentHashing")]
    [Description("Every node that announces an address picks the same backend for a flow, so a flow the router's ECMP moves to another node (a node left or joined) keeps its backend: the Services on the pool's addresses without an ipvsoperator.io/scheduler annotation use mh (Maglev hashing) with mh-fallback and mh-port, every node holds their destinations in one order, and the nodes set net.ipv4.vs.sloppy_tcp and sloppy_sctp. Connections survive the move with forward method droute or tunnel (the backend sees the client's own address); with masq the other node's source NAT changes what the backend sees, and they break. Default false.")]
    public bool? ConsistentHashing { get; set; }
}

public sealed class ServiceAllocation
{
    [JsonPropertyName("namespaces")]
    [ListSet]
    [Items(MaxItems = 1024)]
    [Length(MaxLength = 63)]
    [Description("Namespaces whose Services may use this pool.")]
    public List<string>? Namespaces { get; set; }

    [JsonPropertyName("namespaceSelector")]
    [Description("Labels the Service's namespace must have.")]
    public V1LabelSelector? NamespaceSelector { get; set; }

    [JsonPropertyName("serviceSelector")]
    [Description("Labels the Service must have.")]
    public V1LabelSelector? ServiceSelector { get; set; }
}

public sealed class IPPoolStatus
{
    [JsonPropertyName("ipv4")]
    [Description("Counts of the pool's IPv4 addresses; absent when it has none.")]
    public AddressFamilyCounts? IPv4 { get; set; }

    [JsonPropertyName("ipv6")]
    [Description("Counts of the pool's IPv6 addresses; absent when it has none.")]
    public AddressFamilyCounts? IPv6 { get; set; }

    [JsonPropertyName("conditions")]
    [ListMap("type")]
    [Description("Ready: the pool is valid and in use by the allocator. Exhausted: no address is free. InUse: Services hold addresses from it.")]
    public List<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("observedGeneration")]
    [Description("The spec generation these counts and conditions describe.")]
    public long? ObservedGeneration { get; set; }
}

public sealed class AddressFamilyCounts
{
    [JsonPropertyName("capacity")]
    [Pattern("^[0-9]+$")]
    [Description("Usable addresses, as a decimal string: an IPv6 /64 holds 2^64, more than an integer field can.")]
    public string Capacity { get; set; } = "0";

    [JsonPropertyName("allocated")]
    [Description("Addresses of the pool that Services hold.")]
    public long Allocated { get; set; }

    [JsonPropertyName("available")]
    [Pattern("^[0-9]+$")]
    [Description("Usable addresses not yet held, as a decimal string.")]
    public string Available { get; set; } = "0";
}
