namespace IpvsOperator.Dataplane;

/// <summary>Kernel settings under /proc/sys, by path (<c>net/ipv4/conf/eth0/arp_ignore</c>).</summary>
public interface ISysctl
{
    string? Read(string key);

    void Write(string key, string value);
}
