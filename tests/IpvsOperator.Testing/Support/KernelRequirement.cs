namespace IpvsOperator.Tests.Support;

/// <summary>
/// The Kernel tests need IPVS, which the development host's kernel lacks: they run in the VM
/// (<c>make test-kernel</c>). Started on such a host, a fixture would build half its network and
/// fail, leaving namespaces and bridges behind; it skips at once instead. CI fails on a skipped test.
/// </summary>
public static class KernelRequirement
{
    public static void Ipvs()
    {
        if (!File.Exists("/proc/net/ip_vs"))
        {
            Assert.Ignore("this kernel has no IPVS (/proc/net/ip_vs is missing: no ip_vs module, or not loaded). " +
                "The Kernel tests run in the VM: make test-kernel. CI fails on a skipped test");
        }
    }
}
