using IpvsOperator.AllocationReaders;
using IpvsOperator.Commands;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Migration;

/// <summary>One run of <c>ipvs-operator migrate metallb</c> as the command line makes it, with what it printed and the objects it wrote, read back from its YAML.</summary>
public sealed record MetalLBMigrationRun(int ExitCode, string Output, string Report)
{
    public static string Sample(string name) => Path.Combine(RepositoryRoot.Path, "tests", "IpvsOperator.Migration.Tests", "Migration", "MetalLB", name);

    public static MetalLBMigrationRun Of(string[] paths, bool acceptChanges = false, DirectoryInfo? output = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = MigrateCommand.Run(paths, output, acceptChanges, stdout, stderr);
        return new MetalLBMigrationRun(exit, stdout.ToString(), stderr.ToString());
    }

    public static MetalLBMigrationRun OfSample(string name, bool acceptChanges = false) => Of([Sample(name)], acceptChanges);

    /// <summary>Writes <paramref name="yaml"/> to a file of its own and migrates it.</summary>
    public static MetalLBMigrationRun OfText(string yaml, bool acceptChanges = false)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("metallb-").FullName, "metallb.yaml");
        File.WriteAllText(file, yaml);
        try
        {
            return Of([file], acceptChanges);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
    }

    public IReadOnlyList<object> Objects => Output.Length == 0 ? [] : KubernetesYaml.LoadAllFromString(Output, new Dictionary<string, Type>
    {
        ["ipvsoperator.io/v1alpha1/IPPool"] = typeof(V1Alpha1IPPool),
        ["ipvsoperator.io/v1alpha1/BGPPeer"] = typeof(V1Alpha1BGPPeer),
        ["v1/Secret"] = typeof(V1Secret),
    });

    public V1Alpha1IPPool Pool(string name) => Objects.OfType<V1Alpha1IPPool>().Single(p => p.Metadata.Name == name);

    public V1Alpha1BGPPeer Peer(string name) => Objects.OfType<V1Alpha1BGPPeer>().Single(p => p.Metadata.Name == name);

    public IEnumerable<string> Changes => Lines("change: ");

    public IEnumerable<string> Lines(string prefix) => Report.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>What the webhooks' readers say of every object written: nothing, for a translation to be usable.</summary>
    public IReadOnlyList<string> WebhookReaderErrors() =>
    [
        .. Objects.OfType<V1Alpha1IPPool>().SelectMany(p => PoolReader.Read(p).Errors.Concat(PoolAnnouncementReader.Read(p).Errors).Select(e => $"IPPool {p.Metadata.Name}: {e}")),
        .. Objects.OfType<V1Alpha1BGPPeer>().SelectMany(p => BgpPeerReader.Read(p).Errors.Select(e => $"BGPPeer {p.Metadata.Name}: {e}")),
    ];
}
