using IpvsOperator.Entities;
using IpvsOperator.Ipam;

namespace IpvsOperator.AllocationReaders;

/// <summary>
/// What a user reads when a Service gets no address: the allocator's account, and when sharing
/// stands in the way, the remedy worded with the annotations <see cref="ServiceRequestReader"/>
/// reads (the allocator knows no annotation names).
/// </summary>
internal static class AllocationFailureMessage
{
    /// <summary>The text of <paramref name="failure"/> of the Service <paramref name="service"/>, for its Events.</summary>
    public static string Of(AllocationFailure failure, ServiceKey service) => failure switch
    {
        { Reason: AllocationFailureReason.RequestedAddressTaken, SharingKey: { } key } =>
            $"{failure.Message}; set the annotation {WellKnown.Annotations.AllowSharedIP}: {key} to share it",
        { Reason: AllocationFailureReason.CrossNamespaceSharing, Holder: { } holder } =>
            $"{failure.Message}: annotate Service {service} with {WellKnown.Annotations.AllowSharedIPNamespaces}: {holder.Namespace} "
            + $"and Service {holder} with {WellKnown.Annotations.AllowSharedIPNamespaces}: {service.Namespace}",
        _ => failure.Message,
    };
}
