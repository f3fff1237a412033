using System.Text.Json.Serialization;
using IpvsOperator.Runtime.Entities;
using k8s.Models;

namespace IpvsOperator.Entities;

/// <summary>
/// The claim of one address, named after it (see <see cref="AllocationNames"/>), so that the
/// API server's name uniqueness makes every claim atomic.
/// </summary>
[KubernetesEntity(Group = WellKnown.Group, ApiVersion = WellKnown.Version, Kind = "IPAllocation", PluralName = "ipallocations")]
[EntityScope(EntityScope.Cluster)]
[KubernetesEntityShortNames("ipalloc")]
[Description("The claim of one address by a Service, named after the address (ipv4-192-0-2-10, ipv6-2001-db8--a). Created and deleted by the controller.")]
[PrinterColumn("Address", ".spec.address", "string")]
[PrinterColumn("Pool", ".spec.pool", "string")]
[PrinterColumn("Namespace", ".spec.serviceRef.namespace", "string")]
[PrinterColumn("Service", ".spec.serviceRef.name", "string")]
[PrinterColumn("Shared With", ".spec.sharedWith[*].name", "string", Description = "The other Services sharing the address")]
[PrinterColumn("Sharing Key", ".spec.sharingKey", "string", Priority = 1)]
[PrinterColumn("Age", ".metadata.creationTimestamp", "date")]
public sealed class V1Alpha1IPAllocation : CustomKubernetesEntity<IPAllocationSpec, IPAllocationStatus>
{
    public const string KindName = "IPAllocation";
    public const string Plural = "ipallocations";
}

public sealed class IPAllocationSpec
{
    [JsonPropertyName("address")]
    [Required]
    [ValidationRule("self == oldSelf", Message = "spec.address is immutable: the claim is named after its address; claim another address with another IPAllocation")]
    [Description("The claimed address, in canonical form (192.0.2.10, 2001:db8::a).")]
    public string Address { get; set; } = string.Empty;

    [JsonPropertyName("pool")]
    [Required]
    [Description("The IPPool the address was allocated from.")]
    public string Pool { get; set; } = string.Empty;

    [JsonPropertyName("serviceRef")]
    [Required]
    [Description("The Service that claimed the address.")]
    public ServiceReference ServiceRef { get; set; } = new();

    [JsonPropertyName("sharingKey")]
    [Description("Set when the address may be shared (ipvsoperator.io/allow-shared-ip): Services with the same key and no clashing ports share it.")]
    public string? SharingKey { get; set; }

    [JsonPropertyName("sharedWith")]
    [Description("Further Services sharing the address under sharingKey.")]
    public List<ServiceReference>? SharedWith { get; set; }
}

public sealed class ServiceReference
{
    [JsonPropertyName("namespace")]
    [Required]
    public string Namespace { get; set; } = string.Empty;

    [JsonPropertyName("name")]
    [Required]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("uid")]
    [Required]
    [Description("The Service's uid, so that a Service deleted and created again under the same name is told apart.")]
    public string Uid { get; set; } = string.Empty;
}

public sealed class IPAllocationStatus
{
    [JsonPropertyName("conditions")]
    [ListMap("type")]
    [Description("Bound: the Service's status carries the address.")]
    public List<V1Condition>? Conditions { get; set; }

    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }
}
