using IpvsOperator.Entities;
using IpvsOperator.Runtime.Hosting;
using System.CommandLine;
using IpvsOperator.Commands;
using Prometheus;

// The operator's kinds for the runtime's source-generated JSON, before any object is sent or read.
OperatorJson.Register();

// The process metrics (CPU, memory, GC) stay; prometheus-net's bridges from every EventCounter and
// Meter in the process go: they cost each component memory and a listener thread, and no panel or
// alert reads them (docs/benchmarks.md, footprint).
Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true, SuppressDebugMetrics = true });

// On SIGTERM a component gets this long to stop cleanly before System.CommandLine ends the process
// (its default is 2 s): a node agent hands its layer 2 addresses over and withdraws its BGP routes
// (one frr-reload) first, and a controller gives up its lease. Inside the kubelet's default grace
// period of 30 s.
return await CommandLine.CreateRoot().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = Stopping.Timeout });
