using System.CommandLine;
using IpvsOperator.Runtime.Generation;

namespace IpvsOperator.Commands;

/// <summary><c>ipvs-operator generate --out DIR [--docs DIR]</c>: writes the CRDs and RBAC derived from the code, and the API reference.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out")
        {
            Description = "The kustomize folder to write crd/, rbac/ and webhook/ into (default config).",
            DefaultValueFactory = _ => new DirectoryInfo("config"),
        };
        var docs = new Option<DirectoryInfo?>("--docs")
        {
            Description = "Also write the API reference (api.md) into this folder (make generate: docs/reference).",
        };
        var command = new Command("generate", "Write the CustomResourceDefinitions, RBAC roles and webhook configuration generated from the code, and the API reference.") { output, docs };
        command.SetAction(parseResult =>
        {
            var directory = parseResult.GetValue(output)!;
            var generator = new ManifestGenerator(OperatorAssemblies.All);
            foreach (var file in generator.WriteTo(directory.FullName))
            {
                Console.WriteLine(Path.Combine(directory.FullName, file));
            }
            if (parseResult.GetValue(docs) is { } reference)
            {
                reference.Create();
                var path = Path.Combine(reference.FullName, ApiReferenceGenerator.FileName);
                File.WriteAllText(path, ApiReferenceGenerator.Generate(generator.CustomResourceDefinitions()));
                Console.WriteLine(path);
            }
            return 0;
        });
        return command;
    }
}
