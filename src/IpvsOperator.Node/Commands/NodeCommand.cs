using IpvsOperator.Addressing;
using IpvsOperator.Runtime.Hosting;
using System.CommandLine;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Node.Bgp;

namespace IpvsOperator.Commands;

/// <summary><c>ipvs-operator node</c>: the node agent (a DaemonSet with host networking and NET_ADMIN).</summary>
public static class NodeCommand
{
    public static Command Create()
    {
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubeconfig to use; default: in-cluster, then ~/.kube/config." };
        var nodeName = new Option<string>("--node-name") { Description = "This node's name (for externalTrafficPolicy: Local).", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("NODE_NAME") ?? Environment.MachineName };
        var bindIface = new Option<string>("--bind-iface") { Description = "Interface the VIPs are bound on; created as a dummy link when missing. Not kube-ipvs0, which kube-proxy prunes.", DefaultValueFactory = _ => WellKnown.BindInterface };
        var forwardTo = new Option<string>("--forward-to") { Description = "endpoints: the Service's ready endpoints; node-port: the nodes' InternalIPs at the nodePort (kube-proxy takes it from there).", DefaultValueFactory = _ => "endpoints" };
        forwardTo.AcceptOnlyFromAmong("endpoints", "node-port");
        var defaults = NodeAgentOptions.Defaults;
        var drainTimeout = Durations.Option("--drain-timeout", "How long a terminating or removed endpoint keeps weight 0 before it is deleted; 0 removes it at once", defaults.DrainTimeout, zeroAllowed: true);
        var syncPeriod = Durations.Option("--sync-period", "Full re-sync of the kernel with the cluster, repairing drift", defaults.SyncPeriod);
        var healthCheckMaxTimeout = Durations.Option("--health-check-max-timeout",
            "The longest a health probe runs, whatever health-check-timeout a Service asks for (each probe holds one of the node's 64 probe slots, at most 8 per Service)", defaults.HealthCheckMaxTimeout);
        var healthCheckHostAddresses = new Option<bool>("--health-check-host-addresses")
        {
            Description = "Also health-check endpoints at loopback, link-local and this node's own addresses (hostNetwork backends); without it they get traffic unchecked and a HealthCheckRefused Warning on their Service, since probes leave from the host and their answers reach the Service's owner.",
        };
        var unreadyAfter = new Option<int>("--failed-syncs-until-unready")
        {
            Description = "/readyz fails after this many syncs in a row fail as a whole, until one completes.",
            DefaultValueFactory = _ => defaults.FailedSyncsUntilUnready,
        };
        unreadyAfter.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError($"--failed-syncs-until-unready must be 1 or more; it was {result.GetValueOrDefault<int>()}");
            }
        });
        var dataplane = new Option<string>("--dataplane") { Description = "kernel: netlink, IPVS and nftables; memory: in-memory (no root needed, nothing forwarded).", DefaultValueFactory = _ => "kernel" };
        dataplane.AcceptOnlyFromAmong("kernel", "memory");
        var stateFile = new Option<string?>("--state-file") { Description = "Where the VIPs this agent bound are recorded, so that one whose IPAllocation went while the agent was down is still removed.", DefaultValueFactory = _ => "/run/ipvs-operator/bound-addresses" };
        var procSys = new Option<string>("--proc-sys") { Description = "Where the host's /proc/sys is mounted (for net.ipv4.vs.conntrack); the DaemonSet mounts the host's /proc/sys/net/ipv4 at /host/proc/sys/net/ipv4.", DefaultValueFactory = _ => "/proc/sys" };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Port of /metrics, /healthz and /readyz.", DefaultValueFactory = _ => 8081 };
        var announce = new Option<string>("--announce")
        {
            Description = "How the VIPs reach this node, a comma list: l2 (one node per VIP answers ARP/NDP for it, elected on Leases, with failover), bgp (routes to the BGPPeers through the FRR beside the agent); or none (static routes, or a BGP speaker of your own).",
            DefaultValueFactory = _ => "l2",
        };
        announce.Validators.Add(result =>
        {
            if (AnnounceModes(result.GetValueOrDefault<string>()) is null)
            {
                result.AddError($"--announce '{result.GetValueOrDefault<string>()}' is not l2, bgp, l2,bgp or none");
            }
        });
        var frr = new FrrPaths();
        var frrSockets = new Option<string>("--frr-socket-dir") { Description = "Where FRR's vty sockets are (a volume shared with the FRR container).", DefaultValueFactory = _ => frr.SocketDirectory };
        var frrConfig = new Option<string>("--frr-config") { Description = "FRR's integrated configuration file, which the agent writes (a volume shared with the FRR container, which reads it when it starts).", DefaultValueFactory = _ => frr.ConfigurationFile };
        var frrBin = new Option<string>("--frr-bin-dir") { Description = "Where vtysh is.", DefaultValueFactory = _ => frr.BinDirectory };
        var frrReload = new Option<string>("--frr-reload") { Description = "FRR's frr-reload.py, which applies only the difference.", DefaultValueFactory = _ => frr.Reload };
        var bgpDefaults = new BgpOptions();
        var sessionPoll = Durations.Option("--bgp-session-poll", "How often the BGP sessions are read from FRR for the status, metrics and Events (every second at most while one is down, to catch why)", bgpDefaults.SessionPoll);
        var announceIface = new Option<string?>("--announce-iface") { Description = "Interface the VIPs are announced on; default: the interface of the default route." };
        var agentNamespace = new Option<string>("--namespace", "--lease-namespace") { Description = "The agents' own namespace, the only one where they may use Leases and read Secrets: the announcement Leases and the BGPPeers' password Secrets.", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? WellKnown.NodeNamespace };
        var layer2 = Layer2Options.Defaults;
        var leaseDuration = Durations.Option("--lease-duration", "After this long without a renewal from a node, others take over its VIPs", layer2.LeaseDuration);
        var renewDeadline = Durations.Option("--renew-deadline", "A node that cannot renew for this long withdraws its VIPs, before its lease expires", layer2.RenewDeadline);
        var retryPeriod = Durations.Option("--retry-period", "How often a node renews its lease and looks at the holders", layer2.RetryPeriod);
        var probeWindow = Durations.Option("--probe-window",
            "How long to listen for another device answering an ARP probe or neighbour solicitation for a VIP before taking it (none is taken while answered; adds to every takeover); 0 turns the probe off",
            layer2.ProbeWindow, zeroAllowed: true);
        var heartbeatAddress = new Option<System.Net.IPAddress?>("--heartbeat-address")
        {
            Description = "This node's address for heartbeats with the other agents (UDP), so that an API server outage does not withdraw the VIPs; the DaemonSet gives the host IP. Default: none (an outage withdraws them).",
            HelpName = "address",
        };
        heartbeatAddress.CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
            if (IPAddressValue.TryParse(text, out var parsed))
            {
                return parsed.ToIPAddress();
            }
            result.AddError($"--heartbeat-address '{text}' is not an IP address (for example 192.0.2.10 or 2001:db8::10)");
            return null;
        };
        var heartbeatPort = new Option<int>("--heartbeat-port") { Description = "UDP port of the heartbeats between agents.", DefaultValueFactory = _ => layer2.HeartbeatPort };
        var connectionSyncInterface = new Option<string?>("--connection-sync-interface")
        {
            Description = "Interface on which every node runs both IPVS connection sync daemons (master: sends its connection entries; backup: receives the other nodes'), so that connections survive a layer 2 failover with droute or tunnel; multicast 224.0.0.81, UDP 8848, must pass between the nodes. Default: none (off; daemons found running are left alone).",
            HelpName = "name",
        };
        var connectionSyncId = new Option<int>("--connection-sync-id")
        {
            Description = "The cluster's sync id, 1 to 255: a node takes entries only from nodes with the same id, so two clusters on one LAN ignore each other. 0, the default, takes the entries of every id (the kernel's rule).",
            DefaultValueFactory = _ => 0,
        };
        connectionSyncId.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value is < 0 or > (int)Dataplane.SyncDaemon.MaxSyncId)
            {
                result.AddError($"--connection-sync-id must be 0 to {Dataplane.SyncDaemon.MaxSyncId} (the sync messages carry one byte of it); it was {value}");
            }
        });
        var jsonLogs = new Option<bool>("--json-logs") { Description = "Write logs as JSON lines." };
        var logLevel = new Option<string>("--log-level") { Description = Logging.LevelDescription, DefaultValueFactory = _ => Logging.DefaultLevel };
        logLevel.AcceptOnlyFromAmong([.. Logging.LevelNames]);
        var command = new Command("node", "Bind the allocated VIPs on this node and keep IPVS equal to the Services and their endpoints.")
        {
            kubeconfig, nodeName, bindIface, forwardTo, drainTimeout.Option, syncPeriod.Option, healthCheckMaxTimeout.Option, healthCheckHostAddresses, unreadyAfter, dataplane, stateFile, procSys, metricsPort,
            announce, announceIface, agentNamespace, leaseDuration.Option, renewDeadline.Option, retryPeriod.Option, probeWindow.Option, heartbeatAddress, heartbeatPort,
            connectionSyncInterface, connectionSyncId, frrSockets, frrConfig, frrBin, frrReload, sessionPoll.Option, jsonLogs, logLevel,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var loggers = Logging.Create(parseResult.GetValue(jsonLogs), parseResult.GetValue(logLevel)!);
            var modes = AnnounceModes(parseResult.GetValue(announce))!;
            var options = new NodeHostOptions
            {
                Frr = new FrrPaths(parseResult.GetValue(frrSockets)!, parseResult.GetValue(frrConfig)!, parseResult.GetValue(frrBin)!, parseResult.GetValue(frrReload)!),
                Kubeconfig = parseResult.GetValue(kubeconfig),
                Dataplane = parseResult.GetValue(dataplane) == "memory" ? DataplaneKind.Memory : DataplaneKind.Kernel,
                MetricsPort = parseResult.GetValue(metricsPort),
                ProcSys = parseResult.GetValue(procSys)!,
                Agent = new NodeAgentOptions
                {
                    NodeName = parseResult.GetValue(nodeName)!,
                    BindInterface = parseResult.GetValue(bindIface)!,
                    ForwardTo = parseResult.GetValue(forwardTo) == "node-port" ? ForwardTarget.NodePort : ForwardTarget.Endpoints,
                    DrainTimeout = drainTimeout.ValueIn(parseResult),
                    SyncPeriod = syncPeriod.ValueIn(parseResult),
                    HealthCheckMaxTimeout = healthCheckMaxTimeout.ValueIn(parseResult),
                    HealthCheckHostAddresses = parseResult.GetValue(healthCheckHostAddresses),
                    FailedSyncsUntilUnready = parseResult.GetValue(unreadyAfter),
                    // The in-memory dataplane forgets with the process; so must its record.
                    StateFile = parseResult.GetValue(dataplane) == "memory" ? null : parseResult.GetValue(stateFile),
                    Bgp = modes.Contains("bgp") ? new BgpOptions
                    {
                        SessionPoll = sessionPoll.ValueIn(parseResult), VerifyPeriod = syncPeriod.ValueIn(parseResult), SecretNamespace = parseResult.GetValue(agentNamespace)!,
                    } : null,
                    Layer2 = !modes.Contains("l2") ? null : new Layer2Options
                    {
                        Interface = parseResult.GetValue(announceIface),
                        Namespace = parseResult.GetValue(agentNamespace)!,
                        LeaseDuration = leaseDuration.ValueIn(parseResult),
                        RenewDeadline = renewDeadline.ValueIn(parseResult),
                        RetryPeriod = retryPeriod.ValueIn(parseResult),
                        ProbeWindow = probeWindow.ValueIn(parseResult),
                        HeartbeatAddress = parseResult.GetValue(heartbeatAddress),
                        HeartbeatPort = parseResult.GetValue(heartbeatPort),
                    },
                    ConnectionSync = parseResult.GetValue(connectionSyncInterface) is { } syncInterface
                        ? new ConnectionSyncOptions(syncInterface, (uint)parseResult.GetValue(connectionSyncId)) : null,
                },
            };
            try
            {
                options.Agent.Layer2?.Validate();
                options.Agent.ConnectionSync?.Validate();
            }
            catch (ArgumentException error)
            {
                await Console.Error.WriteLineAsync(error.Message);
                return 2;
            }
            await new NodeHost(options, loggers).RunAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    /// <summary>The modes of an --announce value (empty for none), or null when it names something else.</summary>
    internal static HashSet<string>? AnnounceModes(string? value)
    {
        var modes = (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        if (modes.SetEquals(["none"]))
        {
            return [];
        }
        return modes.Count > 0 && modes.All(m => m is "l2" or "bgp") ? modes : null;
    }
}
