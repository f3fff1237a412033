using Prometheus;

namespace IpvsOperator.Runtime;

/// <summary>The runtime's own metrics, under the project's prefix.</summary>
public static class RuntimeMetrics
{
    public static readonly Histogram ReconcileDuration = Metrics.CreateHistogram(
        "ipvsoperator_reconcile_duration_seconds", "Time to process one object, by controller.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });

    public static readonly Gauge QueueDepth = Metrics.CreateGauge(
        "ipvsoperator_workqueue_depth", "Objects waiting to be reconciled, by controller.",
        new GaugeConfiguration { LabelNames = ["controller"] });

    public static readonly Counter ReconcileFailures = Metrics.CreateCounter(
        "ipvsoperator_reconcile_failures_total", "Reconciles that failed and were requeued, by controller.",
        new CounterConfiguration { LabelNames = ["controller"] });

    public static readonly Gauge IsLeader = Metrics.CreateGauge(
        "ipvsoperator_leader", "1 while this instance holds the leader lease.");
}
