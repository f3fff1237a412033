namespace IpvsOperator.Entities;

/// <summary>Names users type and tools match on (see DESIGN.md). Changing one breaks users.</summary>
public static class WellKnown
{
    public const string Group = "ipvsoperator.io";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;

    public const string LoadBalancerClass = "ipvsoperator.io/ipvs";

    /// <summary>Where config/default installs the controller; its leader Lease and webhook Secret live there (Pod Security: restricted).</summary>
    public const string OperatorNamespace = "ipvs-operator-system";

    /// <summary>
    /// Where config/default installs the node agents; their announcement Leases live there. A namespace
    /// of their own, since a host-network pod needs Pod Security "privileged", which the controller must not get.
    /// </summary>
    public const string NodeNamespace = "ipvs-operator-node";

    /// <summary>
    /// The dummy interface the node agent binds VIPs on. Not kube-ipvs0: kube-proxy's IPVS mode owns
    /// that one and removes addresses it does not know from it.
    /// </summary>
    public const string BindInterface = "ipvs-lb0";

    public static class Annotations
    {
        public const string LoadBalancerIPs = "ipvsoperator.io/load-balancer-ips";
        public const string AddressPool = "ipvsoperator.io/address-pool";
        public const string AllowSharedIP = "ipvsoperator.io/allow-shared-ip";

        /// <summary>Namespaces (comma list, or *) whose Services may share this Service's address under its sharing key.</summary>
        public const string AllowSharedIPNamespaces = "ipvsoperator.io/allow-shared-ip-namespaces";
        public const string Scheduler = "ipvsoperator.io/scheduler";

        /// <summary>The scheduler's flags, a comma list: sh-fallback, sh-port for sh; mh-fallback, mh-port for mh.</summary>
        public const string SchedulerFlags = "ipvsoperator.io/scheduler-flags";
        public const string ForwardMethod = "ipvsoperator.io/forward-method";
        public const string AllocatedFromPool = "ipvsoperator.io/allocated-from-pool";

        /// <summary>Active health checks of the Service's endpoints by the node agents: tcp, http or https; absent, none.</summary>
        public const string HealthCheck = "ipvsoperator.io/health-check";
        public const string HealthCheckPort = "ipvsoperator.io/health-check-port";
        public const string HealthCheckPath = "ipvsoperator.io/health-check-path";
        public const string HealthCheckExpectedStatus = "ipvsoperator.io/health-check-expected-status";
        public const string HealthCheckInterval = "ipvsoperator.io/health-check-interval";
        public const string HealthCheckTimeout = "ipvsoperator.io/health-check-timeout";
        public const string HealthCheckHealthyThreshold = "ipvsoperator.io/health-check-healthy-threshold";
        public const string HealthCheckUnhealthyThreshold = "ipvsoperator.io/health-check-unhealthy-threshold";

        /// <summary>"true": an endpoint found down is removed at once and its connections reset (expire_nodest_conn), instead of finishing at weight 0.</summary>
        public const string HealthCheckResetConnections = "ipvsoperator.io/health-check-reset-connections";

        /// <summary>Every annotation above: a Service's key under ipvsoperator.io/ that is none of them is misspelt or stale.</summary>
        public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
        {
            LoadBalancerIPs, AddressPool, AllowSharedIP, AllowSharedIPNamespaces, Scheduler, SchedulerFlags, ForwardMethod, AllocatedFromPool,
            HealthCheck, HealthCheckPort, HealthCheckPath, HealthCheckExpectedStatus, HealthCheckInterval, HealthCheckTimeout,
            HealthCheckHealthyThreshold, HealthCheckUnhealthyThreshold, HealthCheckResetConnections,
        };

        /// <summary>The prefix of the annotations above.</summary>
        public const string Prefix = Group + "/";

        /// <summary>
        /// MetalLB's Service annotations, which the controller reads where ours is absent (a
        /// compatibility layer, so that Services need no edit to move over): the metallb.io/
        /// spelling MetalLB reads first, then its older metallb.universe.tf/ one.
        /// </summary>
        public static class MetalLB
        {
            public const string LoadBalancerIPs = "metallb.io/loadBalancerIPs";
            public const string AddressPool = "metallb.io/address-pool";
            public const string AllowSharedIP = "metallb.io/allow-shared-ip";
            public const string DeprecatedLoadBalancerIPs = "metallb.universe.tf/loadBalancerIPs";
            public const string DeprecatedAddressPool = "metallb.universe.tf/address-pool";
            public const string DeprecatedAllowSharedIP = "metallb.universe.tf/allow-shared-ip";
        }
    }

    public static class Finalizers
    {
        public const string ReleaseAddress = "ipvsoperator.io/release-address";
        public const string PoolInUse = "ipvsoperator.io/pool-in-use";
    }

    public static class Events
    {
        public const string IPAllocated = "IPAllocated";
        public const string AllocationFailed = "AllocationFailed";
        public const string IPReleased = "IPReleased";
        public const string PoolExhausted = "PoolExhausted";

        /// <summary>A Service uses a MetalLB annotation: the Event names ours.</summary>
        public const string MetalLBAnnotation = "MetalLBAnnotation";

        /// <summary>A node took over the announcement of a Service's address.</summary>
        public const string Announced = "Announced";

        /// <summary>A node should announce a Service's address, but another device on the LAN answers for it.</summary>
        public const string AddressConflict = "AddressConflict";
    }

    public static class Conditions
    {
        /// <summary>On a Service: its address is announced on the LAN, and by which node.</summary>
        public const string Announced = "ipvsoperator.io/Announced";

        /// <summary>On a health-checked Service: how many of its endpoints pass, as the node announcing it finds them.</summary>
        public const string EndpointsHealthy = "ipvsoperator.io/EndpointsHealthy";
    }

    public const string MetricsPrefix = "ipvsoperator_";
}
