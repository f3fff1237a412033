using IpvsOperator.Runtime.Hosting;
using System.CommandLine;

namespace IpvsOperator.Commands;

/// <summary><c>ipvs-operator local</c> (what <c>make run</c> runs): the operator with no cluster at all.</summary>
public static class LocalCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "Port of the local API server; 0 takes a free one.", DefaultValueFactory = _ => 0 };
        var state = new Option<string>("--state-dir") { Description = "Where the kubeconfig is written: a directory of yours that nobody else may write to (created with mode 0700).", DefaultValueFactory = _ => LocalModeOptions.DefaultStateDirectory };
        var samples = new Option<string?>("--samples") { Description = "Folder of manifests to install at start.", DefaultValueFactory = _ => Path.Combine("config", "samples") };
        var dataplane = new Option<string>("--dataplane") { Description = "The node agent's dataplane: memory (anywhere) or kernel (this machine's IPVS and nftables; root).", DefaultValueFactory = _ => "memory" };
        dataplane.AcceptOnlyFromAmong("memory", "kernel");
        var standIns = new Option<bool>("--stand-in-endpoints")
        {
            Description = "LocalCluster runs no pods: give each LoadBalancer Service two stand-in endpoints per IP family until you publish an EndpointSlice of its own, which replaces them (default true; --stand-in-endpoints=false gives none).",
            DefaultValueFactory = _ => true,
        };
        var bgp = new Option<bool>("--bgp") { Description = "Announce over BGP too, to an in-memory stand-in of FRR that reports every BGPPeer's session as established (nothing leaves this machine)." };
        var jsonLogs = new Option<bool>("--json-logs") { Description = "Write logs as JSON lines." };
        var logLevel = new Option<string>("--log-level") { Description = Logging.LevelDescription, DefaultValueFactory = _ => Logging.DefaultLevel };
        logLevel.AcceptOnlyFromAmong([.. Logging.LevelNames]);
        var command = new Command("local", "Run LocalCluster, the controller and its webhooks and a node agent in this process, install the samples, and show allocations and IPVS until Ctrl-C.")
        {
            port, state, samples, dataplane, standIns, bgp, jsonLogs, logLevel,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var loggers = Logging.Create(parseResult.GetValue(jsonLogs), parseResult.GetValue(logLevel)!);
            var mode = new LocalMode(new LocalModeOptions
            {
                ApiPort = parseResult.GetValue(port),
                StateDirectory = parseResult.GetValue(state)!,
                SamplesDirectory = parseResult.GetValue(samples),
                Dataplane = parseResult.GetValue(dataplane) == "kernel" ? DataplaneKind.Kernel : DataplaneKind.Memory,
                StandInEndpoints = parseResult.GetValue(standIns),
                Bgp = parseResult.GetValue(bgp),
            }, loggers, Console.Out);
            try
            {
                await mode.RunAsync(cancellationToken);
            }
            catch (StateDirectoryInUseException busy)
            {
                await Console.Error.WriteLineAsync(busy.Message);
                return 1;
            }
            return 0;
        });
        return command;
    }
}
