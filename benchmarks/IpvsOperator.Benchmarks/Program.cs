using IpvsOperator.Entities;
using BenchmarkDotNet.Running;
using IpvsOperator.Benchmarks;

// The operator's kinds for the runtime's source-generated JSON, before any object is sent or read.
OperatorJson.Register();

// Harnesses that print their own table take a verb; everything else is BenchmarkDotNet.
switch (args)
{
    case ["localcluster", ..]:
        await LocalClusterThroughput.RunAsync();
        break;
    case ["controller", .. var measure]:
        await ControllerThroughput.RunAsync(measure);
        break;
    case ["ipvs", ..]:
        await IpvsProgramming.RunAsync();
        break;
    case ["node", .. var rest]:
        await NodeConvergence.RunAsync(rest is ["memory", ..] ? IpvsOperator.Commands.DataplaneKind.Memory : IpvsOperator.Commands.DataplaneKind.Kernel);
        break;
    case ["node-change", .. var options]:
        await NodeChangeCost.RunAsync(options);
        break;
    case ["election", ..]:
        await ElectionFailover.RunAsync();
        break;
    case ["heartbeats", ..]:
        await HeartbeatCost.RunAsync();
        break;
    case ["webhook", ..]:
        await WebhookCost.RunAsync();
        break;
    case ["footprint", .. var options]:
        await ProcessFootprint.RunAsync(options);
        break;
    case ["health", .. var options]:
        await HealthCheckCost.RunAsync(options);
        break;
    case ["bgp", ..]:
        await BgpConvergence.RunAsync();
        break;
    case ["hostile", ..]:
        await HostileInputCost.RunAsync();
        break;
    case ["runtime", ..]:
        await RuntimeColdStart.RunAsync();
        break;
    case ["openapi", ..]:
        await OpenApiCost.RunAsync();
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(AllocatorBenchmarks).Assembly).Run(args);
        break;
}
