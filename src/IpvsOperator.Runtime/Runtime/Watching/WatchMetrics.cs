using Prometheus;

namespace IpvsOperator.Runtime.Watching;

/// <summary>
/// The informers' metrics, in a registry of their own: both components watch, so both serve it
/// (<see cref="RuntimeMetrics"/> holds the controllers' figures, which a node agent has none of).
/// </summary>
public static class WatchMetrics
{
    public static readonly CollectorRegistry Registry = Metrics.NewCustomRegistry();

    private static readonly MetricFactory Factory = Metrics.WithCustomRegistry(Registry);

    public static readonly Counter DecodeFailures = Factory.CreateCounter(
        "ipvsoperator_watch_decode_failures_total", "Objects listed or watched that could not be read as their type and were skipped (the log names each), by resource.",
        new CounterConfiguration { LabelNames = ["resource"] });
}
