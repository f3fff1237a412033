using System.CommandLine;
using IpvsOperator.Entities;
using IpvsOperator.Controllers;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Webhooks;

namespace IpvsOperator.Commands;

/// <summary><c>ipvs-operator controller</c>: allocates addresses to LoadBalancer Services and serves the webhooks.</summary>
public static class ControllerCommand
{
    public static Command Create()
    {
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "Kubeconfig to use; default: in-cluster, then ~/.kube/config." };
        var ns = new Option<string>("--namespace") { Description = "The operator's namespace (leader lease, webhook Secret).", DefaultValueFactory = _ => Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? WellKnown.OperatorNamespace };
        var defaultClass = new Option<bool>("--default-class") { Description = "Serve LoadBalancer Services that name no loadBalancerClass (default true; --default-class=false serves only those of class ipvsoperator.io/ipvs).", DefaultValueFactory = _ => true };
        var ipMode = new Option<string>("--ip-mode") { Description = "ipMode written to status.loadBalancer.ingress: Proxy or VIP.", DefaultValueFactory = _ => "Proxy" };
        ipMode.AcceptOnlyFromAmong("Proxy", "VIP");
        var leaderElect = new Option<bool>("--leader-elect") { Description = "Run controllers only while holding the leader Lease (default true; --leader-elect=false for a single replica).", DefaultValueFactory = _ => true };
        var webhookPort = new Option<int>("--webhook-port") { Description = "HTTPS port of the validating webhooks; -1 to serve none.", DefaultValueFactory = _ => 9443 };
        var metricsPort = new Option<int>("--metrics-port") { Description = "Port of /metrics, /healthz and /readyz.", DefaultValueFactory = _ => 8080 };
        var jsonLogs = new Option<bool>("--json-logs") { Description = "Write logs as JSON lines." };
        var logLevel = new Option<string>("--log-level") { Description = Logging.LevelDescription, DefaultValueFactory = _ => Logging.DefaultLevel };
        logLevel.AcceptOnlyFromAmong([.. Logging.LevelNames]);
        var command = new Command("controller", "Give LoadBalancer Services addresses from IPPools, keep them, give them back; serve the validating webhooks.")
        {
            kubeconfig, ns, defaultClass, ipMode, leaderElect, webhookPort, metricsPort, jsonLogs, logLevel,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var loggers = Logging.Create(parseResult.GetValue(jsonLogs), parseResult.GetValue(logLevel)!);
            var operatorNamespace = parseResult.GetValue(ns)!;
            var options = new ControllerHostOptions
            {
                Kubeconfig = parseResult.GetValue(kubeconfig),
                Settings = new ControllerSettings { DefaultClass = parseResult.GetValue(defaultClass), IpMode = parseResult.GetValue(ipMode)! },
                Election = new LeaderElectionOptions { Enabled = parseResult.GetValue(leaderElect), Namespace = operatorNamespace },
                Certificates = new WebhookCertificateOptions { Namespace = operatorNamespace },
                WebhookPort = parseResult.GetValue(webhookPort),
                MetricsPort = parseResult.GetValue(metricsPort),
            };
            await new ControllerHost(options, loggers).RunAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
