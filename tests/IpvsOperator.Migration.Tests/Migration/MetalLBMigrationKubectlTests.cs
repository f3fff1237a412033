using System.Net;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Support;
using IpvsOperator.Webhooks;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Migration;

/// <summary>
/// What the migration writes, applied with the real kubectl to LocalCluster with our CRDs and
/// validating webhooks (the generated manifests), as a user applies it: every sample is accepted.
/// </summary>
public class MetalLBMigrationKubectlTests : ControllerFixture
{
    private const string OperatorNamespace = "ipvs-operator-system";
    private WebhookServer server = null!;
    private KubectlSession kubectl = null!;

    [OneTimeSetUp]
    public async Task InstallWebhooksAsync()
    {
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = OperatorNamespace } });
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = WellKnown.NodeNamespace } });
        // A node every sample's peers select, so that the BGPPeer webhook compares them on it.
        await Client.CoreV1.CreateNodeAsync(new V1Node
        {
            Metadata = new V1ObjectMeta { Name = "lb-1", Labels = new Dictionary<string, string> { ["rack"] = "frontend", ["kubernetes.io/hostname"] = "NodeA" } },
        });
        var configuration = KubernetesYaml.Deserialize<V1ValidatingWebhookConfiguration>(
            await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "config", "webhook", "manifests.yaml")));
        foreach (var webhook in configuration.Webhooks)
        {
            webhook.ClientConfig.Service.NamespaceProperty = OperatorNamespace; // what kustomize's namespace does
        }
        await Client.AdmissionregistrationV1.CreateValidatingWebhookConfigurationAsync(configuration);
        var options = new WebhookCertificateOptions { Namespace = OperatorNamespace };
        var certificate = await new WebhookCertificates(Client, options, NullLogger<WebhookCertificates>.Instance).EnsureAsync(CancellationToken.None);
        server = await WebhookServer.StartAsync(certificate,
            [new PoolValidator(Pools, Allocations, new EntityClient<V1Service>(Client), new EntityClient<V1Namespace>(Client)), new AllocationValidator(Pools),
             new BgpPeerValidator(new EntityClient<V1Alpha1BGPPeer>(Client), new EntityClient<V1Node>(Client)), new ServiceValidator(Pools, defaultClass: true)],
            IPAddress.Loopback, 0, NullLogger.Instance, CancellationToken.None);
        Server.Admission.MapService(OperatorNamespace, options.ServiceName, "127.0.0.1", server.Port);
        kubectl = new KubectlSession(Server);
    }

    [OneTimeTearDown]
    public async Task StopWebhooksAsync()
    {
        kubectl.Dispose();
        await server.DisposeAsync();
    }

    [Test]
    public async Task The_webhooks_of_this_cluster_refuse_what_they_should()
    {
        var file = kubectl.WriteFile("hostbits.yaml", """
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata: {name: hostbits}
            spec: {addresses: [192.0.2.5/24]}
            """);

        var refused = await kubectl.RunAsync("apply", "-f", file);

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("denied the request").And.Contain("did you mean 192.0.2.0/24?");
    }

    [TestCase("layer2-simple.yaml")]
    [TestCase("bgp-communities-localpref.yaml")]
    [TestCase("bfd-profile.yaml")]
    [TestCase("password-secret.yaml")]
    [TestCase("namespace-service-selectors.yaml")]
    [TestCase("aggregation.yaml")]
    [TestCase("pool-without-advertisement.yaml")]
    public async Task What_the_migration_writes_is_accepted_by_kubectl_apply(string sample)
    {
        var run = MetalLBMigrationRun.OfSample(sample, acceptChanges: true);
        run.ExitCode.Should().Be(0, run.Report);
        var file = kubectl.WriteFile("ipvs-" + sample, run.Output);

        try
        {
            var applied = await kubectl.RunAsync("apply", "-f", file);

            applied.ExitCode.Should().Be(0, $"the API server and its webhooks accept {sample}'s translation: {applied.Error}");
            foreach (var pool in run.Objects.OfType<V1Alpha1IPPool>())
            {
                var stored = await Pools.GetAsync(null, pool.Metadata.Name);
                stored!.Spec.Addresses.Should().Equal(pool.Spec.Addresses);
                stored.Spec.Announce!.Modes.Should().Equal(pool.Spec.Announce!.Modes);
                Json(stored.Spec.Announce.Bgp).Should().Be(Json(pool.Spec.Announce.Bgp));
                Json(stored.Spec.ServiceAllocation).Should().Be(Json(pool.Spec.ServiceAllocation));
            }
            var peers = new EntityClient<V1Alpha1BGPPeer>(Client);
            foreach (var peer in run.Objects.OfType<V1Alpha1BGPPeer>())
            {
                var stored = await peers.GetAsync(null, peer.Metadata.Name);
                Json(stored!.Spec).Should().Be(Json(peer.Spec));
            }
            foreach (var secret in run.Objects.OfType<V1Secret>())
            {
                var stored = await Client.CoreV1.ReadNamespacedSecretAsync(secret.Metadata.Name, secret.Metadata.NamespaceProperty);
                stored.Data["password"].Should().Equal(secret.Data["password"]);
            }
        }
        finally
        {
            (await kubectl.RunAsync("delete", "--ignore-not-found", "-f", file)).ExitCode.Should().Be(0);
            await Eventually.TrueAsync(async () => (await Pools.ListAllAsync()).Items.Count == 0 && (await new EntityClient<V1Alpha1BGPPeer>(Client).ListAllAsync()).Items.Count == 0,
                "the next sample starts from an empty cluster");
        }
    }

    /// <summary>MetalLB's own configuration samples (its repository's configsamples/, copied unchanged), each on its own.</summary>
    public static IEnumerable<string> UpstreamSamples() =>
        Directory.GetFiles(MetalLBMigrationRun.Sample("upstream"), "*.yaml").Select(f => Path.Combine("upstream", Path.GetFileName(f))).Order(StringComparer.Ordinal);

    [TestCaseSource(nameof(UpstreamSamples))]
    public async Task MetalLBs_own_samples_migrate_and_kubectl_applies_them(string sample)
    {
        // Most samples are fragments (an advertisement whose pool is elsewhere, a peer with a VRF):
        // what changes is reported and the exit says so; nothing is refused, nothing fails.
        var strict = MetalLBMigrationRun.OfSample(sample);
        strict.ExitCode.Should().BeOneOf([0, IpvsOperator.Commands.MigrateCommand.BehaviourChanges], strict.Report);
        if (strict.ExitCode == IpvsOperator.Commands.MigrateCommand.BehaviourChanges)
        {
            strict.Changes.Should().NotBeEmpty("a non-zero exit names what would change");
        }
        var run = MetalLBMigrationRun.OfSample(sample, acceptChanges: true);
        run.ExitCode.Should().Be(0, run.Report);
        run.WebhookReaderErrors().Should().BeEmpty();
        var pools = File.ReadAllText(MetalLBMigrationRun.Sample(sample)).Split('\n').Count(l => l.Trim() == "kind: IPAddressPool");
        run.Objects.OfType<V1Alpha1IPPool>().Should().HaveCount(pools, "every IPAddressPool becomes an IPPool");
        if (run.Output.Length == 0)
        {
            return;
        }
        var file = kubectl.WriteFile("ipvs-" + Path.GetFileName(sample), run.Output);
        try
        {
            var applied = await kubectl.RunAsync("apply", "-f", file);
            applied.ExitCode.Should().Be(0, $"the API server and its webhooks accept {sample}'s translation: {applied.Error}");
        }
        finally
        {
            (await kubectl.RunAsync("delete", "--ignore-not-found", "-f", file)).ExitCode.Should().Be(0);
            await Eventually.TrueAsync(async () => (await Pools.ListAllAsync()).Items.Count == 0 && (await new EntityClient<V1Alpha1BGPPeer>(Client).ListAllAsync()).Items.Count == 0,
                "the next sample starts from an empty cluster");
        }
    }

    private static string Json(object? value) => value is null ? "null" : KubernetesJson.Serialize(value);
}
