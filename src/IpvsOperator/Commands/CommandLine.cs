using System.CommandLine;

namespace IpvsOperator.Commands;

/// <summary>The executable's verbs, one per capability; only verbs that work are registered.</summary>
public static class CommandLine
{
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("IpvsOperator: LoadBalancer Services for bare-metal Kubernetes, on Linux IPVS.")
        {
            GenerateCommand.Create(),
            ControllerCommand.Create(),
            NodeCommand.Create(),
            LocalCommand.Create(),
            MigrateCommand.Create(),
            InspectCommand.Create(),
        };
        root.Subcommands.Add(HelpCommand.Create(root));
        return root;
    }
}
