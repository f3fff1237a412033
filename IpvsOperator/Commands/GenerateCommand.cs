using System.CommandLine;
using IpvsOperator.Runtime.Generation;

namespace IpvsOperator.Commands;

/// <summary><c>ipvs-operator generate --out DIR</c>: writes the CRDs and RBAC derived from the code.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out")
        {
            Description = "The kustomize folder to write crd/, rbac/ and webhook/ into (default config).",
            DefaultValueFactory = _ => new DirectoryInfo("config"),
        };
        var command = new Command("generate", "Write the CustomResourceDefinitions, RBAC roles and webhook configuration generated from the code.") { output };
        command.SetAction(parseResult =>
        {
            var directory = parseResult.GetValue(output)!;
            var written = new ManifestGenerator(typeof(GenerateCommand).Assembly).WriteTo(directory.FullName);
            foreach (var file in written)
            {
                Console.WriteLine(Path.Combine(directory.FullName, file));
            }
            return 0;
        });
        return command;
    }
}
