using Prometheus;

namespace IpvsOperator.Runtime;

/// <summary>The runtime's own metrics, under the project's prefix.</summary>
public static class RuntimeMetrics
{
    /// <summary>Only this component's metrics: a process serves the registries of the components it runs (local mode runs both).</summary>
    public static readonly CollectorRegistry Registry = Metrics.NewCustomRegistry();

    private static readonly MetricFactory Factory = Metrics.WithCustomRegistry(Registry);

    public static readonly Histogram ReconcileDuration = Factory.CreateHistogram(
        "ipvsoperator_reconcile_duration_seconds", "Time to process one object, by controller.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });

    public static readonly Gauge QueueDepth = Factory.CreateGauge(
        "ipvsoperator_workqueue_depth", "Objects waiting to be reconciled, by controller.",
        new GaugeConfiguration { LabelNames = ["controller"] });

    public static readonly Counter ReconcileFailures = Factory.CreateCounter(
        "ipvsoperator_reconcile_failures_total", "Reconciles that failed and were requeued, by controller.",
        new CounterConfiguration { LabelNames = ["controller"] });

    public static readonly Counter AdmissionReviews = Factory.CreateCounter(
        "ipvsoperator_webhook_requests_total", "AdmissionReviews answered, by webhook path and verdict (allowed, denied, error: the validator failed, malformed: not JSON).",
        new CounterConfiguration { LabelNames = ["webhook", "verdict"] });

    public static readonly Histogram AdmissionDuration = Factory.CreateHistogram(
        "ipvsoperator_webhook_duration_seconds", "Time to answer one AdmissionReview, by webhook path (the API server waits for it).",
        new HistogramConfiguration { LabelNames = ["webhook"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14) });

    public static readonly Gauge IsLeader = Factory.CreateGauge(
        "ipvsoperator_leader", "1 while this instance holds the leader lease.");
}
