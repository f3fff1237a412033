using Prometheus;

namespace IpvsOperator.Controllers;

/// <summary>The allocator's figures, for dashboards and alerts (a pool running out, failures by reason).</summary>
internal static class ControllerMetrics
{
    /// <summary>Only this component's metrics: a process serves the registries of the components it runs (local mode runs both).</summary>
    public static readonly CollectorRegistry Registry = Metrics.NewCustomRegistry();

    private static readonly MetricFactory Factory = Metrics.WithCustomRegistry(Registry);

    public static readonly Gauge PoolAddresses = Factory.CreateGauge(
        "ipvsoperator_pool_addresses", "Addresses of a pool by family and state (total: usable capacity, capped at 2^53; in_use: held by Services).",
        new GaugeConfiguration { LabelNames = ["pool", "family", "state"] });

    public static readonly Gauge PoolAnnouncementModes = Factory.CreateGauge(
        "ipvsoperator_pool_announcement_modes", "1 for each way a pool asks its addresses to be announced (mode: layer2, bgp), from spec.announce; both when it says nothing.",
        new GaugeConfiguration { LabelNames = ["pool", "mode"] });

    public static readonly Counter AllocationFailures = Factory.CreateCounter(
        "ipvsoperator_allocation_failures_total", "Services that started waiting for an address, or kept waiting for another reason, by reason (PoolExhausted, NoPoolMatches, RequestedAddressTaken, ...); retries of the same failure are not counted.",
        new CounterConfiguration { LabelNames = ["reason"] });

    public static readonly Gauge PendingServices = Factory.CreateGauge(
        "ipvsoperator_pending_services", "LoadBalancer Services of ours waiting for an address (see their AllocationFailed Events).");

    public static readonly Counter Allocations = Factory.CreateCounter(
        "ipvsoperator_allocations_total", "Addresses published in a Service's status.");
}
