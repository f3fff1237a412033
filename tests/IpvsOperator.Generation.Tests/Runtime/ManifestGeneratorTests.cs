using IpvsOperator.Entities;
using IpvsOperator.Runtime.Generation;
using IpvsOperator.Tests.Support;
using k8s.Models;

namespace IpvsOperator.Tests.Runtime;

public class ManifestGeneratorTests
{
    private static readonly ManifestGenerator Generator = new(IpvsOperator.Commands.OperatorAssemblies.All);

    [Test]
    public void The_committed_config_is_exactly_what_the_generator_writes()
    {
        var generated = Generator.Generate();
        var config = Path.Combine(RepositoryRoot.Path, "config");

        foreach (var (relative, content) in generated)
        {
            var path = Path.Combine(config, relative);
            File.Exists(path).Should().BeTrue($"config/{relative} is generated; run `make generate`");
            File.ReadAllText(path).Should().Be(content, $"config/{relative} differs from the code; run `make generate`");
        }
        var committed = ManifestGenerator.OwnedFolders
            .Select(folder => Path.Combine(config, folder))
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            .Select(path => Path.GetRelativePath(config, path).Replace('\\', '/'));
        committed.Should().BeSubsetOf(generated.Keys, "files in generated folders that the generator does not write are stale");
    }

    [Test]
    public void The_API_reference_in_docs_is_what_the_generator_writes_from_the_same_CRDs()
    {
        var crds = Generator.CustomResourceDefinitions();
        var reference = ApiReferenceGenerator.Generate(crds);
        File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "reference", ApiReferenceGenerator.FileName))
            .Should().Be(reference, "docs/reference/api.md differs from the code; run `make generate`");

        // Every kind, and every field of every spec and status, is in it with the rules the API server enforces.
        foreach (var crd in crds)
        {
            reference.Should().Contain($"\n## {crd.Spec.Names.Kind}\n");
        }
        reference.Should().Contain("| `spec.addresses` | []string |").And.Contain("items at most 4096");
        reference.Should().Contain("| `spec.autoAssign` | boolean |").And.Contain("default `true`");
        reference.Should().Contain("| `status.conditions[].status` | string |").And.Contain("one of `True`, `False`, `Unknown`");
    }

    [Test]
    public void Output_is_deterministic()
    {
        new ManifestGenerator(IpvsOperator.Commands.OperatorAssemblies.All).Generate().Should().Equal(Generator.Generate());
    }

    [Test]
    public void Generate_verb_writes_the_same_files_and_removes_stale_ones()
    {
        var directory = Directory.CreateTempSubdirectory("ipvs-generate-");
        try
        {
            var stale = Path.Combine(directory.FullName, "crd", "bases", "old.yaml");
            Directory.CreateDirectory(Path.GetDirectoryName(stale)!);
            File.WriteAllText(stale, "stale");
            var keep = Path.Combine(directory.FullName, "samples", "mine.yaml");
            Directory.CreateDirectory(Path.GetDirectoryName(keep)!);
            File.WriteAllText(keep, "user's own");

            Generator.WriteTo(directory.FullName);

            File.Exists(stale).Should().BeFalse();
            File.ReadAllText(keep).Should().Be("user's own", "only the generated folders are owned by the generator");
            foreach (var (relative, content) in Generator.Generate())
            {
                File.ReadAllText(Path.Combine(directory.FullName, relative)).Should().Be(content);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [TestCase(typeof(V1Alpha1IPPool), "ippools.ipvsoperator.io", "IPPool", "ippool")]
    [TestCase(typeof(V1Alpha1IPAllocation), "ipallocations.ipvsoperator.io", "IPAllocation", "ipalloc")]
    public void Both_resources_are_cluster_scoped_with_status_and_short_names(Type entity, string name, string kind, string shortName)
    {
        var crd = CrdGenerator.Generate(entity);

        crd.Metadata.Name.Should().Be(name);
        crd.Spec.Scope.Should().Be("Cluster");
        crd.Spec.Names.Kind.Should().Be(kind);
        crd.Spec.Names.ShortNames.Should().Equal(shortName);
        var version = crd.Spec.Versions.Should().ContainSingle().Subject;
        version.Name.Should().Be("v1alpha1");
        version.Subresources.Status.Should().NotBeNull();
        version.AdditionalPrinterColumns.Should().NotBeEmpty();
        version.AdditionalPrinterColumns.Should().OnlyContain(c => c.JsonPath.StartsWith('.'));
    }

    [TestCase(typeof(V1Alpha1IPPool))]
    [TestCase(typeof(V1Alpha1IPAllocation))]
    public void Every_field_of_the_schema_is_typed(Type entity)
    {
        var schema = CrdGenerator.Generate(entity).Spec.Versions[0].Schema.OpenAPIV3Schema;

        foreach (var (path, field) in Walk("", schema))
        {
            (field.Type is not null || field.XKubernetesIntOrString == true).Should().BeTrue($"{path} has a type (structural schema)");
            if (field.Required is { } required)
            {
                required.Should().BeSubsetOf(field.Properties.Keys, $"{path} requires only fields it has");
            }
        }
    }

    [Test]
    public void The_IPPool_schema_carries_required_fields_defaults_and_list_rules()
    {
        var spec = CrdGenerator.Generate(typeof(V1Alpha1IPPool)).Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"];

        spec.Required.Should().Equal("addresses");
        spec.Properties["addresses"].MinItems.Should().Be(1);
        spec.Properties["autoAssign"].DefaultProperty.Should().Be(true);
        spec.Properties["avoidBuggyIPs"].DefaultProperty.Should().Be(false);
        spec.Properties["priority"].DefaultProperty.Should().Be(0L);
        var selector = spec.Properties["serviceAllocation"].Properties["namespaceSelector"];
        var requirement = (V1JSONSchemaProps)selector.Properties["matchExpressions"].Items;
        requirement.Required.Should().Equal("key", "operator");
        requirement.Properties["operator"].EnumProperty.Should().Equal("In", "NotIn", "Exists", "DoesNotExist");
    }

    [Test]
    public async Task Kubectl_kustomize_renders_every_CRD()
    {
        var result = await Processes.RunAsync("kubectl", ["kustomize", Path.Combine(RepositoryRoot.Path, "config", "crd")]);

        result.ExitCode.Should().Be(0, result.Error);
        var documents = k8s.KubernetesYaml.LoadAllFromString(result.Output);
        documents.Should().AllBeOfType<V1CustomResourceDefinition>();
        documents.Cast<V1CustomResourceDefinition>().Select(d => d.Metadata.Name)
            .Should().BeEquivalentTo(["ippools.ipvsoperator.io", "ipallocations.ipvsoperator.io", "ipvsnodes.ipvsoperator.io", "bgppeers.ipvsoperator.io"]);
    }

    private static IEnumerable<(string Path, V1JSONSchemaProps Field)> Walk(string path, V1JSONSchemaProps field)
    {
        yield return (path.Length == 0 ? "." : path, field);
        foreach (var (name, child) in field.Properties ?? new Dictionary<string, V1JSONSchemaProps>())
        {
            foreach (var nested in Walk($"{path}.{name}", child))
            {
                yield return nested;
            }
        }
        if (field.Items is V1JSONSchemaProps items)
        {
            foreach (var nested in Walk(path + "[]", items))
            {
                yield return nested;
            }
        }
        if (field.AdditionalProperties is V1JSONSchemaProps values)
        {
            foreach (var nested in Walk(path + "{}", values))
            {
                yield return nested;
            }
        }
    }
}
