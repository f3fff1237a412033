using Prometheus;

namespace IpvsOperator.Node;

/// <summary>The node agent's figures: how long syncs take, what the kernel holds, what it refused.</summary>
internal static class NodeMetrics
{
    /// <summary>Only this component's metrics: a process serves the registries of the components it runs (local mode runs both).</summary>
    public static readonly CollectorRegistry Registry = Metrics.NewCustomRegistry();

    private static readonly MetricFactory Factory = Metrics.WithCustomRegistry(Registry);

    public static readonly Histogram SyncDuration = Factory.CreateHistogram(
        "ipvsoperator_node_sync_duration_seconds", "Time of one sync of the kernel with the cluster (read back, diff, apply), by trigger (change, periodic, drain, retry).",
        new HistogramConfiguration { LabelNames = ["trigger"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    public static readonly Counter Syncs = Factory.CreateCounter(
        "ipvsoperator_node_syncs_total", "Syncs by result (ok: every operation applied; partial: some refused; failed: the sync itself failed).",
        new CounterConfiguration { LabelNames = ["result"] });

    public static readonly Counter KernelWrites = Factory.CreateCounter(
        "ipvsoperator_node_kernel_writes_total", "Changes made to the kernel: addresses, IPVS services and destinations, the source NAT table.");

    public static readonly Counter KernelErrors = Factory.CreateCounter(
        "ipvsoperator_node_kernel_errors_total", "Kernel operations refused, and syncs that failed on a kernel error.");

    public static readonly Gauge VirtualServices = Factory.CreateGauge(
        "ipvsoperator_node_virtual_services", "IPVS virtual services programmed by this agent.");

    public static readonly Gauge Destinations = Factory.CreateGauge(
        "ipvsoperator_node_destinations", "IPVS destinations programmed by this agent (draining ones included).");

    public static readonly Gauge DrainingDestinations = Factory.CreateGauge(
        "ipvsoperator_node_draining_destinations", "Destinations at weight 0, waiting for --drain-timeout before removal.");

    public static readonly Gauge Addresses = Factory.CreateGauge(
        "ipvsoperator_node_addresses", "VIPs bound on the bind interface by this agent.");

    public static readonly Gauge FailedSyncsInARow = Factory.CreateGauge(
        "ipvsoperator_node_failed_syncs_in_a_row", "Syncs that failed as a whole since the last one that completed (0 while syncing works); /readyz fails at --failed-syncs-until-unready.");

    public static readonly Gauge Ready = Factory.CreateGauge(
        "ipvsoperator_node_ready", "1 while /readyz answers ok (the first sync completed and fewer than --failed-syncs-until-unready failed since), else 0.");

    public static readonly Gauge LastSuccessfulSync = Factory.CreateGauge(
        "ipvsoperator_node_last_successful_sync_timestamp_seconds", "Unix time of the last sync that completed.");

    public static readonly Gauge AnnouncedAddresses = Factory.CreateGauge(
        "ipvsoperator_node_announced_addresses", "VIPs this node holds and announces on the LAN (layer 2); summed over nodes, every announced VIP once.");

    public static readonly Counter AnnouncementTakeovers = Factory.CreateCounter(
        "ipvsoperator_node_announcement_takeovers_total", "VIPs this node started announcing: a failover, a handover, or a new address.");

    public static readonly Counter AnnouncementWithdrawals = Factory.CreateCounter(
        "ipvsoperator_node_announcement_withdrawals_total", "VIPs this node stopped announcing: handed over, gone, or lease not renewed in time.");

    public static readonly Gauge AddressConflicts = Factory.CreateGauge(
        "ipvsoperator_node_address_conflicts", "VIPs this node should take (layer 2) but does not, because another device answered its ARP probe or neighbour solicitation for them.");

    public static readonly Counter NeighbourAnnouncements = Factory.CreateCounter(
        "ipvsoperator_node_neighbour_announcements_total", "Gratuitous ARP (arp) and unsolicited neighbour advertisement (ndp) frames sent.",
        new CounterConfiguration { LabelNames = ["protocol"] });

    public static readonly Counter PeerHeartbeats = Factory.CreateCounter(
        "ipvsoperator_node_peer_heartbeats_total", "Heartbeats from peer agents: accepted, or refused by reason (length, signature, replay, self).",
        new CounterConfiguration { LabelNames = ["result"] });

    public static readonly Counter HeartbeatsSent = Factory.CreateCounter(
        "ipvsoperator_node_heartbeats_sent_total", "Heartbeats this node sent, by peer.",
        new CounterConfiguration { LabelNames = ["peer"] });

    public static readonly Counter HeartbeatsReceived = Factory.CreateCounter(
        "ipvsoperator_node_heartbeats_received_total", "Heartbeats accepted from each peer (\"unknown\": a sender with no presence Lease seen yet).",
        new CounterConfiguration { LabelNames = ["peer"] });

    public static readonly Counter HeartbeatsLost = Factory.CreateCounter(
        "ipvsoperator_node_heartbeats_lost_total", "Heartbeats of each peer that never arrived, from the gaps in its sequence numbers (version 2 heartbeats only).",
        new CounterConfiguration { LabelNames = ["peer"] });

    public static readonly Gauge PeersUnheard = Factory.CreateGauge(
        "ipvsoperator_node_peers_unheard", "Live peers (by their Leases) whose heartbeats this node has not heard lately: while any, an API outage withdraws this node's VIPs.");

    public static readonly Gauge KeepingThroughOutage = Factory.CreateGauge(
        "ipvsoperator_node_keeping_through_api_outage", "1 while this node cannot reach the API server and keeps announcing its VIPs because every peer reports the same.");

    public static readonly Counter HealthProbes = Factory.CreateCounter(
        "ipvsoperator_node_health_probes_total", "Health check probes of endpoints by result: ok, or the failure (refused, timeout, status, tls, error).",
        new CounterConfiguration { LabelNames = ["result"] });

    public static readonly Histogram HealthProbeDuration = Factory.CreateHistogram(
        "ipvsoperator_node_health_probe_duration_seconds", "Time of one health check probe, answered or not (a timeout counts its full timeout).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 13) });

    public static readonly Gauge ServiceEndpoints = Factory.CreateGauge(
        "ipvsoperator_node_service_endpoints", "Endpoints of a health-checked Service as this node's probes find them: healthy, or unhealthy (weight 0, or removed with reset-connections, unless all are).",
        new GaugeConfiguration { LabelNames = ["namespace", "service", "health"] });

    public static readonly Gauge ChoiceDigest = Factory.CreateGauge(
        "ipvsoperator_node_consistent_choice_digest", "Per VIP whose virtual services every node must schedule alike (mh, externalTrafficPolicy Cluster): the first 48 bits of the digest of what the choice depends on (scheduler, flags, ordered destinations and weights, sloppy TCP/SCTP), as in the IPVSNode's status. Nodes serving one VIP with different values pick other backends for some moved flows.",
        new GaugeConfiguration { LabelNames = ["address"] });

    public static readonly Gauge SloppyConnections = Factory.CreateGauge(
        "ipvsoperator_node_sloppy_connections", "1 while net.ipv4.vs.sloppy_tcp and sloppy_sctp are set by this agent (it serves consistent virtual services), else 0.");

    public static readonly Gauge ConnectionSyncDaemons = Factory.CreateGauge(
        "ipvsoperator_node_connection_sync_daemons", "With --connection-sync-interface: 1 while this node's IPVS connection sync daemon of the role (master: sends this node's connections; backup: receives the others') runs as asked, else 0.",
        new GaugeConfiguration { LabelNames = ["role"] });

    public static readonly Gauge SyncedConnections = Factory.CreateGauge(
        "ipvsoperator_node_synced_connections", "IPVS connection entries this node's backup daemon made from other nodes' sync messages (Origin SYNC in /proc/net/ip_vs_conn_sync), counted at each periodic sync: what a takeover here would keep. The kernel counts no sync messages.");

    public static readonly Gauge BgpSessionUp = Factory.CreateGauge(
        "ipvsoperator_bgp_session_up", "1 while this node's BGP session with the BGPPeer is Established, else 0.",
        new GaugeConfiguration { LabelNames = ["peer"] });

    public static readonly Gauge BgpPrefixesAdvertised = Factory.CreateGauge(
        "ipvsoperator_bgp_prefixes_advertised", "Prefixes this node advertises to the BGPPeer (0 while the session is down).",
        new GaugeConfiguration { LabelNames = ["peer"] });

    public static readonly Gauge BgpUpdatesSent = Factory.CreateGauge(
        "ipvsoperator_bgp_updates_sent", "BGP UPDATE messages sent to the BGPPeer, as FRR counts them (from 0 again when bgpd restarts).",
        new GaugeConfiguration { LabelNames = ["peer"] });

    public static readonly Gauge BgpPrefixes = Factory.CreateGauge(
        "ipvsoperator_bgp_announced_prefixes", "Prefixes in this node's BGP configuration (VIPs, or their pools' aggregates; 0 while withdrawn).");

    public static readonly Counter BgpApplies = Factory.CreateCounter(
        "ipvsoperator_bgp_config_applies_total", "Offers of the BGP configuration to FRR by result: applied (FRR changed), unchanged (verified, nothing written), failed.",
        new CounterConfiguration { LabelNames = ["result"] });

    public static readonly Histogram BgpApplyDuration = Factory.CreateHistogram(
        "ipvsoperator_bgp_config_apply_duration_seconds", "Time to apply a changed BGP configuration to FRR (frr-reload).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });
}
