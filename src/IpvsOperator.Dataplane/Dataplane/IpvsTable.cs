using System.Text;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

/// <summary>IPVS rules as <c>ipvsadm -Ln</c> shows them (without the connection counters, which only the kernel has).</summary>
public static class IpvsTable
{
    public static string Format(IIpvs ipvs, Func<VirtualServiceKey, bool>? include = null)
    {
        var text = new StringBuilder();
        text.Append("Prot LocalAddress:Port Scheduler Flags\n");
        text.Append("  -> RemoteAddress:Port           Forward Weight\n");
        foreach (var service in ipvs.ListServices().Where(s => include?.Invoke(s.Key) ?? true)
                     .OrderBy(s => s.Key.Address).ThenBy(s => s.Key.Protocol).ThenBy(s => s.Key.Port))
        {
            text.Append($"{service.Key.Protocol,-4} {Endpoint(service.Key.Address, service.Key.Port)} {service.Scheduler}");
            if (service.Persistent)
            {
                text.Append($" persistent {service.TimeoutSeconds}");
            }
            text.Append('\n');
            foreach (var destination in ipvs.ListDestinations(service.Key).OrderBy(d => d.Address).ThenBy(d => d.Port))
            {
                text.Append($"  -> {Endpoint(destination.Address, destination.Port),-28} {Method(destination.Method),-7} {destination.Weight}\n");
            }
        }
        return text.ToString();
    }

    private static string Endpoint(IPAddressValue address, ushort port) =>
        address.Family == IPFamily.IPv6 ? $"[{address}]:{port}" : $"{address}:{port}";

    private static string Method(ForwardMethod method) => method switch
    {
        ForwardMethod.Masquerade => "Masq",
        ForwardMethod.DirectRoute => "Route",
        ForwardMethod.Tunnel => "Tunnel",
        _ => "Local",
    };
}
