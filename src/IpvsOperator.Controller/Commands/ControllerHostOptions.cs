using k8s;
using System.Net;
using IpvsOperator.Controllers;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Hosting;
using IpvsOperator.Runtime.Webhooks;

namespace IpvsOperator.Commands;

/// <summary>Everything the <c>controller</c> verb is told.</summary>
public sealed record ControllerHostOptions
{
    public string? Kubeconfig { get; init; }

    /// <summary>How to reach the API server, handed over in-process (local mode); when set, no kubeconfig is read.</summary>
    public KubernetesClientConfiguration? Connection { get; init; }
    public ControllerSettings Settings { get; init; } = new();
    public LeaderElectionOptions Election { get; init; } = new() { Namespace = WellKnown.OperatorNamespace };
    public WebhookCertificateOptions Certificates { get; init; } = new() { Namespace = WellKnown.OperatorNamespace };

    /// <summary>-1 serves no webhooks; 0 takes any free port (tests).</summary>
    public int WebhookPort { get; init; } = 9443;

    /// <summary>/metrics, /healthz, /readyz; 0 takes any free port (tests).</summary>
    public int MetricsPort { get; init; } = 8080;
    public IPAddress Bind { get; init; } = IPAddress.Any;
}
