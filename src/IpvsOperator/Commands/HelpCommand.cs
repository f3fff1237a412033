using System.CommandLine;

namespace IpvsOperator.Commands;

/// <summary><c>ipvs-operator help [verb]</c>: the same as <c>--help</c>, for those who type it as a verb.</summary>
internal static class HelpCommand
{
    public static Command Create(RootCommand root)
    {
        var verb = new Argument<string?>("verb") { Description = "The verb to explain; none lists them all.", Arity = ArgumentArity.ZeroOrOne };
        verb.AcceptOnlyFromAmong([.. root.Subcommands.Select(c => c.Name)]);
        var command = new Command("help", "Show how to use the operator, or one of its verbs.") { verb };
        command.SetAction((parseResult, cancellationToken) =>
        {
            var name = parseResult.GetValue(verb);
            return root.Parse(name is null ? ["--help"] : [name, "--help"]).InvokeAsync(cancellationToken: cancellationToken);
        });
        return command;
    }
}
