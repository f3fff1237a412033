using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

/// <summary>One change to the IPVS table, for <see cref="IIpvs.ApplyAll"/>: the methods of <see cref="IIpvs"/> as data.</summary>
public abstract record IpvsChange
{
    public sealed record AddService(VirtualService Service) : IpvsChange;
    public sealed record UpdateService(VirtualService Service) : IpvsChange;
    public sealed record DeleteService(VirtualServiceKey Key) : IpvsChange;
    public sealed record AddDestination(VirtualServiceKey Key, Destination Destination) : IpvsChange;
    public sealed record UpdateDestination(VirtualServiceKey Key, Destination Destination) : IpvsChange;
    public sealed record DeleteDestination(VirtualServiceKey Key, IPAddressValue Address, ushort Port) : IpvsChange;

    /// <summary>Makes the change through the method of <paramref name="ipvs"/> that does it alone.</summary>
    public void ApplyTo(IIpvs ipvs)
    {
        switch (this)
        {
            case AddService add: ipvs.AddService(add.Service); break;
            case UpdateService update: ipvs.UpdateService(update.Service); break;
            case DeleteService delete: ipvs.DeleteService(delete.Key); break;
            case AddDestination add: ipvs.AddDestination(add.Key, add.Destination); break;
            case UpdateDestination update: ipvs.UpdateDestination(update.Key, update.Destination); break;
            case DeleteDestination delete: ipvs.DeleteDestination(delete.Key, delete.Address, delete.Port); break;
            default: throw new ArgumentOutOfRangeException(nameof(ipvs), this, "an IPVS change of an unknown kind");
        }
    }
}
