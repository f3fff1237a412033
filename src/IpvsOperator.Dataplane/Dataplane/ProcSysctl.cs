namespace IpvsOperator.Dataplane;

/// <summary>
/// The files under a /proc/sys: the node's own, or the host's mounted into the pod (a DaemonSet
/// mounts the host's /proc/sys/net/ipv4, since the container's /proc/sys is read-only).
/// </summary>
public sealed class ProcSysctl(string root = "/proc/sys") : ISysctl
{
    public string? Read(string key)
    {
        var path = Path.Combine(root, key);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    public void Write(string key, string value) => File.WriteAllText(Path.Combine(root, key), value);
}
