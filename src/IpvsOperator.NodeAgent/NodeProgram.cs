using IpvsOperator.Entities;
using IpvsOperator.Runtime.Hosting;
using System.CommandLine;
using IpvsOperator.Commands;
using Prometheus;

// The operator's kinds for the runtime's source-generated JSON, before any object is sent or read.
OperatorJson.Register();

// ipvs-operator's `node` command alone, as ipvs-operator's Program.cs runs it (see there for why).
Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true, SuppressDebugMetrics = true });
var root = new RootCommand("IpvsOperator's node agent, built with Native AOT.") { NodeCommand.Create() };
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = Stopping.Timeout });
