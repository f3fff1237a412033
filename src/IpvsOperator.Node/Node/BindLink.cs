using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// The interface the VIPs are bound on (a dummy link, <c>ipvs-lb0</c> by default): created when
/// missing, and the only place that adds or removes addresses on it.
/// </summary>
internal sealed class BindLink(IAddressManager links, string name, ILogger logger)
{
    public string Name => name;

    /// <summary>Creates the dummy link (up) when it is missing or down, as after a reboot or by a human's hand.</summary>
    public void Ensure()
    {
        if (!links.ListLinks().Any(l => l.Name == name && l.Up))
        {
            links.EnsureDummyLink(name);
            logger.LogInformation("created the dummy interface {Interface} for the VIPs", name);
        }
    }

    public IReadOnlyList<IPAddressValue> Addresses() => links.ListAddresses(name);

    public void Bind(IPAddressValue address) => links.AddAddress(name, address);

    public void Unbind(IPAddressValue address) => links.RemoveAddress(name, address);
}
