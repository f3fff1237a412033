namespace IpvsOperator.Controllers;

/// <summary>Flags of the controller verb.</summary>
public sealed record ControllerSettings
{
    /// <summary>Serve LoadBalancer Services that name no loadBalancerClass (<c>--default-class</c>).</summary>
    public bool DefaultClass { get; init; } = true;

    /// <summary>
    /// The ipMode written to <c>status.loadBalancer.ingress</c> (<c>--ip-mode</c>). Proxy keeps
    /// kube-proxy from capturing traffic to the address before IPVS sees it.
    /// </summary>
    public string IpMode { get; init; } = "Proxy";
}
