using System.CommandLine;
using IpvsOperator.Commands;

// One executable, one verb per capability. Only verbs that work are registered.
var root = new RootCommand("IpvsOperator: LoadBalancer Services for bare-metal Kubernetes, on Linux IPVS.")
{
    GenerateCommand.Create(),
    ControllerCommand.Create(),
    NodeCommand.Create(),
    LocalCommand.Create(),
};
root.Subcommands.Add(HelpCommand.Create(root));
return await root.Parse(args).InvokeAsync();
