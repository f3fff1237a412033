using IpvsOperator.Commands;
using Prometheus;

// The process metrics (CPU, memory, GC) stay; prometheus-net's bridges from every EventCounter and
// Meter in the process go: they cost each component memory and a listener thread, and no panel or
// alert reads them (docs/benchmarks.md, footprint).
Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true, SuppressDebugMetrics = true });

return await CommandLine.CreateRoot().Parse(args).InvokeAsync();
