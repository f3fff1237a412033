using Prometheus;

namespace IpvsOperator.Controllers;

/// <summary>The allocator's figures, for dashboards and alerts (a pool running out, failures by reason).</summary>
public static class ControllerMetrics
{
    public static readonly Gauge PoolAddresses = Metrics.CreateGauge(
        "ipvsoperator_pool_addresses", "Addresses of a pool by family and state (total: usable capacity, capped at 2^53; in_use: held by Services).",
        new GaugeConfiguration { LabelNames = ["pool", "family", "state"] });

    public static readonly Counter AllocationFailures = Metrics.CreateCounter(
        "ipvsoperator_allocation_failures_total", "Allocations that failed, by reason (PoolExhausted, NoPoolMatches, RequestedAddressTaken, ...).",
        new CounterConfiguration { LabelNames = ["reason"] });

    public static readonly Counter Allocations = Metrics.CreateCounter(
        "ipvsoperator_allocations_total", "Addresses published in a Service's status.");
}
