namespace IpvsOperator.Node;

/// <summary>Where the node agent sends a Service's traffic.</summary>
public enum ForwardTarget
{
    /// <summary>The Service's ready endpoints, at the port's targetPort.</summary>
    Endpoints,

    /// <summary>The nodes' InternalIPs at the Service's nodePort, handing the traffic to kube-proxy.</summary>
    NodePort,
}
