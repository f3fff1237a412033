using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;

namespace IpvsOperator.Node;

/// <summary>One change to the kernel.</summary>
internal abstract record SyncOperation
{
    public sealed record BindAddress(IPAddressValue Address) : SyncOperation;
    public sealed record UnbindAddress(IPAddressValue Address) : SyncOperation;
    public sealed record AddService(VirtualService Service) : SyncOperation;
    public sealed record UpdateService(VirtualService Service) : SyncOperation;
    public sealed record DeleteService(VirtualServiceKey Key) : SyncOperation;
    public sealed record AddDestination(VirtualServiceKey Key, Destination Destination) : SyncOperation;
    public sealed record UpdateDestination(VirtualServiceKey Key, Destination Destination) : SyncOperation;
    public sealed record DeleteDestination(VirtualServiceKey Key, Destination Destination) : SyncOperation;
}
