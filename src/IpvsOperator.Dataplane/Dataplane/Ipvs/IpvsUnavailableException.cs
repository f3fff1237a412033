namespace IpvsOperator.Dataplane.Ipvs;

/// <summary>The kernel has no IPVS: one clear error saying what is missing and how to get it.</summary>
internal sealed class IpvsUnavailableException(string family, Exception inner)
    : Exception($"the kernel has no IPVS: the generic netlink family '{family}' is not there. Load the module (modprobe ip_vs, and ip_vs_<scheduler> for each scheduler used) or run on a kernel built with CONFIG_IP_VS", inner);
