using k8s.Models;

namespace IpvsOperator.Migration;

/// <summary>What one MetalLB BGPAdvertisement asks of the pools it selects, in IpvsOperator's terms.</summary>
internal sealed record BgpAdvertisementSettings(
    MetalLBObject Source,
    IReadOnlyList<string> Communities,
    IReadOnlyList<string> LargeCommunities,
    long? LocalPreference,
    int? AggregationLength,
    int? AggregationLengthV6,
    IReadOnlyList<V1LabelSelector> NodeSelectors);
