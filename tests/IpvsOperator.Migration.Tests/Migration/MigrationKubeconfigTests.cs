using IpvsOperator.Commands;
using IpvsOperator.Tests.Controllers;

namespace IpvsOperator.Tests.Migration;

/// <summary>
/// Which cluster <c>migrate metallb --context</c> reads and writes: as kubectl, <c>--kubeconfig</c>,
/// else every file of <c>$KUBECONFIG</c>, else <c>~/.kube/config</c>; never another file's context of
/// the same name. Each test sets <c>$KUBECONFIG</c> and <c>$HOME</c> for itself, so none runs beside another.
/// </summary>
[NonParallelizable]
public class MigrationKubeconfigTests : ControllerFixture
{
    private const string MetalLBPool = """
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata: {name: kubeconfig-pool}
        spec: {addresses: [198.51.100.64/28]}
        ---
        apiVersion: metallb.io/v1beta1
        kind: L2Advertisement
        metadata: {name: kubeconfig-l2}
        """;

    private string folder = null!;
    private string? kubeconfigBefore;
    private string? homeBefore;
    private string metallb = null!;

    [OneTimeSetUp]
    public async Task InstallMetalLBAsync()
    {
        await MetalLBCluster.InstallCrdsAsync(Client);
        metallb = await NewNamespaceAsync("metallb");
        await MetalLBCluster.CreateAsync(Client, metallb, MetalLBPool);
    }

    [SetUp]
    public void HomeWithAnotherClusterOfTheSameContext()
    {
        folder = Directory.CreateTempSubdirectory("migrate-kubeconfig-").FullName;
        kubeconfigBefore = Environment.GetEnvironmentVariable("KUBECONFIG");
        homeBefore = Environment.GetEnvironmentVariable("HOME");
        // ~/.kube/config names the same context, for a cluster that answers nothing: reading it fails the run.
        Directory.CreateDirectory(Path.Combine(folder, "home", ".kube"));
        File.WriteAllText(Path.Combine(folder, "home", ".kube", "config"), """
            apiVersion: v1
            kind: Config
            clusters:
            - name: other
              cluster: {server: "https://127.0.0.1:9"}
            users:
            - name: other
              user: {token: other}
            contexts:
            - name: localcluster
              context: {cluster: other, user: other}
            current-context: localcluster
            """);
        Environment.SetEnvironmentVariable("HOME", Path.Combine(folder, "home"));
    }

    [TearDown]
    public void RestoreEnvironment()
    {
        Environment.SetEnvironmentVariable("KUBECONFIG", kubeconfigBefore);
        Environment.SetEnvironmentVariable("HOME", homeBefore);
        Directory.Delete(folder, recursive: true);
    }

    [Test]
    public async Task The_context_is_looked_up_in_the_files_of_KUBECONFIG_not_in_the_home_kubeconfig()
    {
        var ours = Server.WriteKubeconfig(Path.Combine(folder, "ours.yaml"));
        Environment.SetEnvironmentVariable("KUBECONFIG", $"{Path.Combine(folder, "absent.yaml")}:{ours}");

        var (exit, output, report) = await MigrateAsync(new MigrationOptions { Context = "localcluster", MetalLBNamespace = metallb });

        exit.Should().Be(0, report);
        output.Should().Contain("name: kubeconfig-pool", "MetalLB's pool was read from the cluster $KUBECONFIG names");
    }

    [Test]
    public async Task The_kubeconfig_flag_comes_before_KUBECONFIG()
    {
        var ours = Server.WriteKubeconfig(Path.Combine(folder, "ours.yaml"));
        Environment.SetEnvironmentVariable("KUBECONFIG", Path.Combine(folder, "home", ".kube", "config"));

        var (exit, output, report) = await MigrateAsync(new MigrationOptions { Kubeconfig = ours, Context = "localcluster", MetalLBNamespace = metallb });

        exit.Should().Be(0, report);
        output.Should().Contain("name: kubeconfig-pool");
    }

    [Test]
    public async Task An_unknown_context_is_one_line_naming_it_and_the_files_and_exit_6()
    {
        var ours = Server.WriteKubeconfig(Path.Combine(folder, "ours.yaml"));
        Environment.SetEnvironmentVariable("KUBECONFIG", ours);

        var (exit, output, report) = await MigrateAsync(new MigrationOptions { Context = "prod", Apply = true, MetalLBNamespace = metallb });

        exit.Should().Be(MigrateCommand.ClusterFailed);
        output.Should().BeEmpty();
        report.TrimEnd('\n').Should().NotContain("\n", "one line, no stack trace")
            .And.Contain("context 'prod' is not in kubeconfig").And.Contain(ours).And.Contain("its contexts: localcluster");
    }

    [Test]
    public async Task A_missing_kubeconfig_file_is_one_line_naming_it_and_exit_6()
    {
        var missing = Path.Combine(folder, "missing.yaml");

        var (exit, _, report) = await MigrateAsync(new MigrationOptions { Kubeconfig = missing, Context = "localcluster", MetalLBNamespace = metallb });

        exit.Should().Be(MigrateCommand.ClusterFailed);
        report.Should().Be($"error: no cluster to read: kubeconfig {missing} (from --kubeconfig) does not exist\n");
    }

    [Test]
    public async Task A_context_with_no_kubeconfig_at_all_is_one_line_and_exit_6()
    {
        Environment.SetEnvironmentVariable("HOME", Path.Combine(folder, "nowhere"));
        Environment.SetEnvironmentVariable("KUBECONFIG", null);

        var (exit, _, report) = await MigrateAsync(new MigrationOptions { Context = "localcluster", MetalLBNamespace = metallb });

        exit.Should().Be(MigrateCommand.ClusterFailed);
        report.Should().StartWith("error: no cluster to read: context 'localcluster' asked for, but there is no kubeconfig").And.EndWith(".kube/config\n");
    }

    /// <summary>The verb as the command line runs it: no connection handed over, the kubeconfig chosen from the options and the environment.</summary>
    private static async Task<(int ExitCode, string Output, string Report)> MigrateAsync(MigrationOptions options)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await MigrateCommand.RunAsync(options, stdout, stderr, CancellationToken.None);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
