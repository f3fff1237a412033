using System.Net;
using IpvsOperator.Entities;
using IpvsOperator.Dataplane;
using IpvsOperator.LocalCluster;
using IpvsOperator.Node;
using IpvsOperator.Node.Announcement;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Generation;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Webhooks;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Commands;

/// <summary>
/// The operator on a laptop with no cluster: LocalCluster, the CRDs and the webhook configuration
/// generated from the code, the controller with its webhooks (so an invalid pool is refused as in a
/// cluster), a node agent (on an in-memory dataplane unless told to use the kernel), the samples,
/// and a kubeconfig for kubectl. It prints allocations and the IPVS table as they change.
/// </summary>
public sealed class LocalMode(LocalModeOptions options, ILoggerFactory loggers, TextWriter output)
{
    private readonly ILogger logger = loggers.CreateLogger<LocalMode>();
    private readonly IpvsTableChanges ipvsChanges = new();

    public string KubeconfigPath => Path.Combine(options.StateDirectory, "kubeconfig");

    public LocalClusterServer? Server { get; private set; }

    /// <summary>The node agent's host, once started (its dataplane is what the IPVS table shows).</summary>
    public NodeHost? Node { get; private set; }

    public async Task RunAsync(CancellationToken cancellationToken, TaskCompletionSource? ready = null)
    {
        PrivateDirectory.Ensure(options.StateDirectory);
        using var directory = StateDirectoryLock.Acquire(options.StateDirectory);
        try
        {
            await RunServedAsync(ready, cancellationToken);
        }
        finally
        {
            // It would point kubectl at a port nobody serves any more.
            File.Delete(KubeconfigPath);
        }
    }

    private async Task RunServedAsync(TaskCompletionSource? ready, CancellationToken cancellationToken)
    {
        await using var server = await LocalClusterServer.StartAsync(new LocalClusterOptions { Port = options.ApiPort }, cancellationToken);
        Server = server;
        server.WriteKubeconfig(KubeconfigPath);
        using var client = server.CreateClient();
        await InstallAsync(client, cancellationToken);
        // The node the agent runs on, as a cluster has it: its labels pick BGPPeers and pools, and it owns its IPVSNode.
        await client.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = LocalNodeName, Labels = new Dictionary<string, string> { ["kubernetes.io/hostname"] = LocalNodeName } },
            Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = "127.0.0.1" }] },
        }, cancellationToken: cancellationToken);

        var host = new ControllerHost(new ControllerHostOptions
        {
            Connection = server.ClientConfiguration(), // handed over: the kubeconfig on disk is for kubectl, never read back
            Election = new LeaderElectionOptions { Namespace = WellKnown.OperatorNamespace },
            Certificates = new WebhookCertificateOptions { Namespace = WellKnown.OperatorNamespace },
            WebhookPort = 0,
            MetricsPort = 0,
            Bind = IPAddress.Loopback,
        }, loggers);
        var controller = await StartAsync(started => host.RunAsync(cancellationToken, started));
        server.Admission.MapService(WellKnown.OperatorNamespace, ManifestGenerator.WebhookNames.ServiceName, "127.0.0.1", host.WebhookPort);

        var samples = await InstallSamplesAsync(client, cancellationToken);
        using var prober = new LoopbackOnlyProber();
        var node = new NodeHost(new NodeHostOptions
        {
            Connection = server.ClientConfiguration(), // handed over: the kubeconfig on disk is for kubectl, never read back
            Dataplane = options.Dataplane,
            Prober = prober,
            MetricsPort = 0,
            Bind = IPAddress.Loopback,
            Agent = new NodeAgentOptions
            {
                NodeName = LocalNodeName,
                SyncPeriod = TimeSpan.FromSeconds(10),
                // Local mode's stand-in endpoints are on loopback, and its prober probes nothing else.
                HealthCheckHostAddresses = true,
                // Announced on the in-memory eth0 only: on the kernel dataplane this would answer ARP
                // and send gratuitous ARP on this machine's real LAN.
                Layer2 = options.Dataplane == DataplaneKind.Memory ? new Layer2Options { Namespace = WellKnown.NodeNamespace, SingleNode = true } : null,
                Bgp = options.Bgp ? new Node.Bgp.BgpOptions { SessionPoll = TimeSpan.FromSeconds(2) } : null,
            },
        }, loggers);
        Node = node;
        var agent = await StartAsync(started => node.RunAsync(cancellationToken, started));
        node.Agent!.Synced += report => ShowIpvs(node.Dataplane!, report);
        var standIns = options.StandInEndpoints ? new StandInEndpoints(client, LocalNodeName, loggers).RunAsync(cancellationToken) : Task.CompletedTask;
        output.WriteLine($"""

            IpvsOperator is running locally (no cluster needed).
              API server   {server.Address}   (LocalCluster, in this process)
              kubeconfig   {KubeconfigPath}
              metrics      http://127.0.0.1:{host.MetricsPort}/metrics (controller), http://127.0.0.1:{node.MetricsPort}/metrics (node agent)
              dataplane    {(options.Dataplane == DataplaneKind.Memory ? "in memory (nothing is forwarded; --dataplane kernel uses this machine's IPVS)" : "this machine's kernel (IPVS, nftables)")}
              bgp          {(options.Bgp ? "announced to an in-memory stand-in of FRR: each BGPPeer's session reports Established (nothing leaves this machine)" : "off (--bgp announces to an in-memory stand-in of FRR)")}
              samples      {samples}

            Try:
              kubectl --kubeconfig {KubeconfigPath} get ippools,svc,ipalloc
              kubectl --kubeconfig {KubeconfigPath} get events
              kubectl --kubeconfig {KubeconfigPath} get leases -n {WellKnown.NodeNamespace}   (who announces each VIP)

            LocalCluster runs no pods: {(options.StandInEndpoints ? "each LoadBalancer Service gets two stand-in endpoints per IP family on local-node" : "publish EndpointSlices for your Services yourself")}
            {(options.StandInEndpoints ? "(so that the IPVS table below has destinations) until you publish an EndpointSlice for it." : "(--stand-in-endpoints=false), or they get no IPVS destinations.")}
            Everything lives in this process's memory: a restart starts from nothing. Ctrl-C stops.

            """);
        ready?.TrySetResult();
        await ShowAllocationsAsync(client, cancellationToken);
        await Task.WhenAll(controller, agent, standIns);
    }

    /// <summary>Starts a host and waits until it serves; a host that fails to start throws here.</summary>
    private static async Task<Task> StartAsync(Func<TaskCompletionSource, Task> run)
    {
        var started = new TaskCompletionSource();
        var running = run(started);
        await Task.WhenAny(started.Task, running);
        if (running.IsFaulted)
        {
            await running;
        }
        return running;
    }

    public const string LocalNodeName = "local-node";

    /// <summary>The virtual services a sync changed, ipvsadm style (the whole table at debug level: with many Services it is most of the output).</summary>
    private void ShowIpvs(NodeDataplane dataplane, SyncReport report)
    {
        if (report.Writes == 0)
        {
            return;
        }
        var table = IpvsTable.Format(dataplane.Ipvs);
        logger.LogDebug("IPVS after {Writes} kernel writes:\n{Table}", report.Writes, table);
        if (ipvsChanges.Next(table) is not { } changed)
        {
            return;
        }
        var lines = changed.Replace("\n", "\n  ", StringComparison.Ordinal).TrimEnd();
        output.WriteLine($"{DateTime.Now:HH:mm:ss}  IPVS after {report.Writes} kernel writes ({report.Trigger.ToString().ToLowerInvariant()} sync, {report.Duration.TotalMilliseconds:F1} ms):\n  {lines}");
    }

    /// <summary>The CRDs, the operator's namespaces and the webhook configuration, as config/default installs them.</summary>
    internal static async Task InstallAsync(IKubernetes client, CancellationToken cancellationToken)
    {
        foreach (var crd in new ManifestGenerator(OperatorAssemblies.All).CustomResourceDefinitions())
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd, cancellationToken: cancellationToken);
        }
        foreach (var ns in new[] { WellKnown.OperatorNamespace, WellKnown.NodeNamespace })
        {
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } }, cancellationToken: cancellationToken);
        }
        var webhook = KubernetesYaml.Deserialize<V1ValidatingWebhookConfiguration>(
            new ManifestGenerator(OperatorAssemblies.All).Generate()["webhook/manifests.yaml"]);
        foreach (var hook in webhook.Webhooks)
        {
            hook.ClientConfig.Service.NamespaceProperty = WellKnown.OperatorNamespace; // as kustomize's namespace would
        }
        await client.AdmissionregistrationV1.CreateValidatingWebhookConfigurationAsync(webhook, cancellationToken: cancellationToken);
    }

    private async Task<string> InstallSamplesAsync(IKubernetes client, CancellationToken cancellationToken)
    {
        if (options.SamplesDirectory is not { } directory || !Directory.Exists(directory))
        {
            return "none";
        }
        var pools = new EntityClient<V1Alpha1IPPool>(client);
        var installed = new List<string>();
        foreach (var file in Directory.GetFiles(directory, "*.yaml").Where(f => !f.EndsWith("kustomization.yaml", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            foreach (var document in KubernetesYaml.LoadAllFromString(await File.ReadAllTextAsync(file, cancellationToken),
                         new Dictionary<string, Type> { ["ipvsoperator.io/v1alpha1/IPPool"] = typeof(V1Alpha1IPPool) }))
            {
                switch (document)
                {
                    case V1Alpha1IPPool pool:
                        await pools.CreateAsync(pool, cancellationToken);
                        installed.Add($"ippool/{pool.Metadata.Name}");
                        break;
                    case V1Service service:
                        var ns = service.Metadata.NamespaceProperty ?? "default";
                        await client.CoreV1.CreateNamespacedServiceAsync(service, ns, cancellationToken: cancellationToken);
                        installed.Add($"service/{service.Metadata.Name}");
                        break;
                }
            }
        }
        // IPPools first, as the files are ordered: a Service created before its pool waits, then gets one.
        return installed.Count == 0 ? "none" : string.Join(", ", installed) + $" (from {directory})";
    }

    /// <summary>Prints a line whenever a LoadBalancer Service's published addresses change.</summary>
    private async Task ShowAllocationsAsync(IKubernetes client, CancellationToken cancellationToken)
    {
        var shown = new Dictionary<string, string>();
        try
        {
            await foreach (var (type, service) in client.CoreV1.WatchListServiceForAllNamespacesAsync(cancellationToken: cancellationToken))
            {
                if (service.Spec?.Type != "LoadBalancer")
                {
                    continue;
                }
                var key = $"{service.Metadata.NamespaceProperty}/{service.Metadata.Name}";
                var addresses = type == WatchEventType.Deleted ? "(deleted)"
                    : string.Join(",", service.Status?.LoadBalancer?.Ingress?.Select(i => i.Ip) ?? []) is { Length: > 0 } ips ? ips : "<pending>";
                if (shown.GetValueOrDefault(key) == addresses)
                {
                    continue;
                }
                shown[key] = addresses;
                var pool = service.Metadata.Annotations?.TryGetValue(WellKnown.Annotations.AllocatedFromPool, out var p) == true ? p : "-";
                var ports = string.Join(",", service.Spec.Ports?.Select(x => $"{x.Port}/{x.Protocol}") ?? []);
                output.WriteLine($"{DateTime.Now:HH:mm:ss}  {key,-32} {addresses,-36} pool={pool,-14} ports={ports}");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl-C.
        }
    }
}
