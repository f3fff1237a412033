namespace IpvsOperator.Tests.Support;

/// <summary>
/// Who a container of the DaemonSet runs as: the user, the groups the image's /etc/group gives it
/// (the runtime adds them, as containerd and CRI-O do), and the only capabilities it keeps
/// (<c>drop: ALL</c> and <c>add</c>), with no privilege escalation. A test runs a program as that
/// container would with <see cref="Confine"/>; <c>DeploymentConfigTests</c> holds these sets equal to
/// what config/ and the Dockerfile say, so a test cannot prove what the deployment does not grant.
/// </summary>
public sealed record ContainerIdentity(int User, IReadOnlyList<string> ImageGroups, IReadOnlyList<string> Capabilities)
{
    /// <summary>The node agent (config/node): root, in frrvty to reach FRR's vty sockets, with NET_ADMIN and NET_RAW.</summary>
    public static readonly ContainerIdentity NodeAgent = new(0, ["frrvty"], ["NET_ADMIN", "NET_RAW"]);

    /// <summary>
    /// The FRR sidecar (config/bgp): root to start the daemons, which drop to the frr user keeping
    /// what FRR's privilege code asks for (it refuses to start without SYS_ADMIN).
    /// </summary>
    public static readonly ContainerIdentity FrrSidecar = new(0, ["frrvty"], ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE", "SETUID", "SETGID", "CHOWN", "SYS_ADMIN"]);

    /// <summary>
    /// setpriv's arguments that run a program as this container: the user and its groups, the
    /// bounding set limited to the capabilities (root's permitted and effective sets after exec are
    /// then exactly these), nothing inheritable or ambient, and no_new_privs
    /// (<c>allowPrivilegeEscalation: false</c>). Followed by the program and its arguments.
    /// </summary>
    public IReadOnlyList<string> Confine(string program, params string[] arguments) =>
    [
        "setpriv", $"--reuid={User}", $"--regid={User}", $"--groups={string.Join(',', ImageGroups)}",
        $"--bounding-set=-all,{string.Join(',', Capabilities.Select(c => "+" + c.ToLowerInvariant()))}",
        "--inh-caps=-all", "--ambient-caps=-all", "--no-new-privs", "--", program, .. arguments,
    ];
}
