namespace IpvsOperator.Runtime.Webhooks;

/// <summary>Where the webhook's certificates live, whom they name, and when they are renewed.</summary>
public sealed record WebhookCertificateOptions
{
    /// <summary>The names the generated manifests and RBAC use (the Role names the Secret, the ClusterRole the configuration).</summary>
    public const string DefaultSecretName = "ipvs-operator-webhook-tls";
    public const string DefaultServiceName = "ipvs-operator-webhook-service";
    public const string DefaultConfigurationName = "ipvs-operator-validating-webhook";

    public required string Namespace { get; init; }
    public string SecretName { get; init; } = DefaultSecretName;
    public string ServiceName { get; init; } = DefaultServiceName;
    public string ConfigurationName { get; init; } = DefaultConfigurationName;

    /// <summary>The CA: long-lived, so that the caBundle rarely changes.</summary>
    public TimeSpan CaValidity { get; init; } = TimeSpan.FromDays(3650);

    /// <summary>A CA with less than this left is replaced; the old one stays in the caBundle until it expires.</summary>
    public TimeSpan CaRenewBefore { get; init; } = TimeSpan.FromDays(365);

    /// <summary>The serving certificate: short-lived, renewed in the running process.</summary>
    public TimeSpan ServingValidity { get; init; } = TimeSpan.FromDays(30);

    /// <summary>A serving certificate with less than this left is renewed.</summary>
    public TimeSpan ServingRenewBefore { get; init; } = TimeSpan.FromDays(10);

    /// <summary>A replica whose served certificate has less than this left reports not ready: renewal is failing.</summary>
    public TimeSpan NotReadyWithin { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How often each replica looks at the Secret: renews what is due, serves what another replica renewed.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromMinutes(1);
}
