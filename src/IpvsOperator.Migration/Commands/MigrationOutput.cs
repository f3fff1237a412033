using System.Text.Json;
using System.Text.Json.Nodes;
using IpvsOperator.Migration;
using k8s;

namespace IpvsOperator.Commands;

/// <summary>The translated objects as YAML, never a Secret: one stream of documents on stdout, or one file per object in a folder (the paths printed).</summary>
internal static class MigrationOutput
{
    /// <summary>The order a person reads an object in; a new object has no status (the controller writes it).</summary>
    private static readonly string[] Fields = ["apiVersion", "kind", "metadata", "spec"];

    public static void Write(MigrationResult result, DirectoryInfo? folder, TextWriter stdout)
    {
        // No Secret: this output goes to terminals, files and Git. The report says how to copy or create each (--apply does it).
        var documents = result.Pools.Select(p => (Name: $"ippool-{p.Metadata.Name}.yaml", Yaml: Yaml(p)))
            .Concat(result.Peers.Select(p => (Name: $"bgppeer-{p.Metadata.Name}.yaml", Yaml: Yaml(p))))
            .Concat(result.Claims.Select(c => (Name: $"ipallocation-{c.Metadata.Name}.yaml", Yaml: Yaml(c))))
            .ToList();
        if (folder is null)
        {
            stdout.Write(string.Join("---\n", documents.Select(d => d.Yaml)));
            return;
        }
        folder.Create();
        foreach (var (name, yaml) in documents)
        {
            var path = Path.Combine(folder.FullName, name);
            File.WriteAllText(path, yaml);
            stdout.WriteLine(path);
        }
    }

    private static string Yaml(object value)
    {
        var json = JsonNode.Parse(KubernetesJson.Serialize(value))!.AsObject();
        var ordered = Fields.Where(f => json[f] is not null).ToDictionary(f => f, f => Plain(json[f]));
        return KubernetesYaml.Serialize(ordered).TrimEnd() + "\n";
    }

    /// <summary>JSON as the dictionaries, lists and scalars the YAML serializer writes in their order.</summary>
    private static object? Plain(JsonNode? node) => node switch
    {
        JsonObject map => map.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => Plain(p.Value)),
        JsonArray list => list.Select(Plain).ToList(),
        JsonValue scalar => scalar.GetValueKind() switch
        {
            JsonValueKind.String => scalar.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number when scalar.TryGetValue<long>(out var whole) => whole,
            _ => scalar.GetValue<double>(),
        },
        _ => null,
    };
}
