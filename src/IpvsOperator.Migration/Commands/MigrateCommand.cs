using System.CommandLine;
using IpvsOperator.Migration;

namespace IpvsOperator.Commands;

/// <summary>
/// <c>ipvs-operator migrate metallb -f FILE_OR_DIR [-f ...] [--out DIR] [--accept-changes]</c>:
/// MetalLB's configuration from YAML files, as IPPools and BGPPeers, with a report on stderr of
/// every field that has no exact equivalent. Nothing is written when something would behave
/// differently (unless accepted) or when the cluster would refuse an object.
/// </summary>
public static class MigrateCommand
{
    /// <summary>A file or document that is not Kubernetes objects: the message names it.</summary>
    public const int UnreadableInput = 2;

    /// <summary>Some field would behave differently after the switch, and --accept-changes was not given.</summary>
    public const int BehaviourChanges = 3;

    /// <summary>A translated object would be refused by the webhooks: the message says which and why.</summary>
    public const int RefusedObject = 4;

    public static Command Create()
    {
        var files = new Option<string[]>("--filename", "-f")
        {
            Description = "A MetalLB YAML file, or a folder of them (*.yaml, *.yml, *.json, read recursively); repeat for more. Give every MetalLB file at once: advertisements, BFD profiles and communities refer to other objects.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<DirectoryInfo?>("--out")
        {
            Description = "Write one file per object into this folder instead of all of them to stdout.",
        };
        var accept = new Option<bool>("--accept-changes")
        {
            Description = "Write the objects even when the report lists changes of behaviour.",
        };
        var metallb = new Command("metallb", "Translate MetalLB's IPAddressPools, advertisements, BGPPeers, BFDProfiles and Communities into IPPools and BGPPeers.")
        {
            files, output, accept,
        };
        metallb.SetAction(parseResult => Run(parseResult.GetValue(files)!, parseResult.GetValue(output), parseResult.GetValue(accept), Console.Out, Console.Error));
        return new Command("migrate", "Translate another load balancer's configuration into IpvsOperator's objects.") { metallb };
    }

    /// <summary>The verb's work with its streams given, so that tests run it as the command line does.</summary>
    public static int Run(IReadOnlyList<string> paths, DirectoryInfo? output, bool acceptChanges, TextWriter stdout, TextWriter stderr)
    {
        MigrationResult result;
        try
        {
            var objects = MigrationInput.Read(paths);
            if (!objects.Any(o => o.IsMetalLB))
            {
                stderr.WriteLine($"error: no MetalLB object (apiVersion metallb.io/...) in {string.Join(", ", paths)}");
                return UnreadableInput;
            }
            result = MetalLBTranslator.Translate(objects);
        }
        catch (MetalLBInputException error)
        {
            stderr.WriteLine($"error: {error.Message}");
            return UnreadableInput;
        }

        MigrationReport.Write(result, stderr);
        var refusals = MigratedObjectsCheck.Refusals(result);
        if (refusals.Count > 0)
        {
            foreach (var refusal in refusals)
            {
                stderr.WriteLine($"refused: {refusal}");
            }
            stderr.WriteLine($"nothing written: {refusals.Count} object(s) would be refused by IpvsOperator's webhooks; fix the MetalLB objects named above");
            return RefusedObject;
        }
        if (result.ChangesBehaviour && !acceptChanges)
        {
            stderr.WriteLine($"nothing written: {result.Findings.Count(f => f.Kind == FindingKind.Change)} change(s) of behaviour above; run again with --accept-changes to write the objects anyway");
            return BehaviourChanges;
        }
        MigrationOutput.Write(result, output, stdout);
        return 0;
    }
}
