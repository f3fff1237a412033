using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The descriptions of the built-in types and their fields, as upstream's OpenAPI carries them:
/// KubernetesClient generates its models from that OpenAPI and ships the descriptions as the XML
/// documentation beside its assembly (KubernetesClient.xml). Read once, when an OpenAPI document
/// first needs them, from beside the assembly or from the NuGet package it came in; where neither
/// is on the machine (a published image), the schemas simply have no descriptions.
/// </summary>
internal static partial class ModelDescriptions
{
    private static readonly Lazy<IReadOnlyDictionary<string, string>> Summaries = new(Load);

    /// <summary>Where the documentation was read from, or null when none was found.</summary>
    public static string? Source { get; private set; }

    public static string? Of(Type type) => Summaries.Value.GetValueOrDefault($"T:{type.FullName}");

    public static string? Of(PropertyInfo property) => Summaries.Value.GetValueOrDefault($"P:{property.DeclaringType!.FullName}.{property.Name}");

    private static Dictionary<string, string> Load()
    {
        var summaries = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Candidates().FirstOrDefault(File.Exists) is not { } path)
        {
            return summaries;
        }
        using var reader = XmlReader.Create(path, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, IgnoreComments = true });
        string? member = null;
        while (reader.Read())
        {
            if (reader.NodeType != XmlNodeType.Element)
            {
                continue;
            }
            if (reader.Name == "member")
            {
                var name = reader.GetAttribute("name");
                member = name is not null && (name.StartsWith("T:k8s.Models.", StringComparison.Ordinal) || name.StartsWith("P:k8s.Models.", StringComparison.Ordinal)) ? name : null;
            }
            else if (reader.Name == "summary" && member is not null)
            {
                // The generator wrapped upstream's text at 80 columns: one line again.
                var text = Whitespace().Replace(reader.ReadElementContentAsString(), " ").Trim();
                if (text.Length > 0)
                {
                    summaries[member] = text;
                }
                member = null;
            }
        }
        Source = path;
        return summaries;
    }

    /// <summary>Beside the assembly (a build that copied it), then the NuGet package the assembly came from.</summary>
    private static IEnumerable<string> Candidates()
    {
        var assembly = typeof(k8s.Models.V1Service).Assembly;
        var location = assembly.Location;
        if (location.Length > 0)
        {
            yield return Path.ChangeExtension(location, ".xml");
        }
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        if (version is not null && location.Length > 0)
        {
            // The same target framework folder the assembly was resolved from (lib/net10.0/...).
            var framework = Path.GetFileName(Path.GetDirectoryName(location)) is { } folder && folder.StartsWith("net", StringComparison.Ordinal) ? folder : "net10.0";
            yield return Path.Combine(packages, "kubernetesclient", version, "lib", framework, "KubernetesClient.xml");
            yield return Path.Combine(packages, "kubernetesclient", version, "lib", "net10.0", "KubernetesClient.xml");
        }
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
