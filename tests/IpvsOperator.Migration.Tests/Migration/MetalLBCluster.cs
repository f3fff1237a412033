using System.Text.Json.Nodes;
using IpvsOperator.Commands;
using IpvsOperator.LocalCluster;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Migration;

/// <summary>MetalLB as a cluster holds it, in LocalCluster: its CRDs (as generic ones, every field kept), its objects, and the migration run against it as the command line runs it.</summary>
public static class MetalLBCluster
{
    private static readonly (string Kind, string Plural, string[] Versions)[] Kinds =
    [
        ("IPAddressPool", "ipaddresspools", ["v1beta1"]),
        ("L2Advertisement", "l2advertisements", ["v1beta1"]),
        ("BGPAdvertisement", "bgpadvertisements", ["v1beta1"]),
        ("BGPPeer", "bgppeers", ["v1beta2", "v1beta1"]),
        ("BFDProfile", "bfdprofiles", ["v1beta1"]),
        ("Community", "communities", ["v1beta1"]),
    ];

    public static async Task InstallCrdsAsync(IKubernetes client)
    {
        foreach (var (kind, plural, versions) in Kinds)
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(new V1CustomResourceDefinition
            {
                Metadata = new V1ObjectMeta { Name = $"{plural}.metallb.io" },
                Spec = new V1CustomResourceDefinitionSpec
                {
                    Group = "metallb.io",
                    Scope = "Namespaced",
                    Names = new V1CustomResourceDefinitionNames { Kind = kind, Plural = plural, ListKind = kind + "List", Singular = kind.ToLowerInvariant() },
                    Versions = [.. versions.Select((v, i) => new V1CustomResourceDefinitionVersion
                    {
                        Name = v, Served = true, Storage = i == 0,
                        Schema = new V1CustomResourceValidation { OpenAPIV3Schema = new V1JSONSchemaProps { Type = "object", XKubernetesPreserveUnknownFields = true } },
                    })],
                },
            });
        }
    }

    /// <summary>Creates a MetalLB object from its YAML, as kubectl apply of MetalLB's documented examples does.</summary>
    public static async Task CreateAsync(IKubernetes client, string ns, string yaml)
    {
        // Read as the migration reads files (YAML 1.2's types: numbers stay numbers), then sent as JSON.
        foreach (var read in IpvsOperator.Migration.MetalLBDocuments.Parse("fixture.yaml", yaml))
        {
            var item = new JsonObject
            {
                ["apiVersion"] = read.ApiVersion,
                ["kind"] = read.Kind,
                ["metadata"] = new JsonObject { ["name"] = read.Name, ["namespace"] = ns },
                ["spec"] = read.Spec.DeepClone(),
            };
            var plural = Kinds.Single(k => k.Kind == read.Kind).Plural;
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(item, "metallb.io", read.ApiVersion.Split('/')[1], ns, plural);
        }
    }

    public static async Task<(int ExitCode, string Output, string Report)> MigrateAsync(LocalClusterServer server, MigrationOptions options)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await MigrateCommand.RunAsync(options with { Connection = server.ClientConfiguration() }, stdout, stderr, CancellationToken.None);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
