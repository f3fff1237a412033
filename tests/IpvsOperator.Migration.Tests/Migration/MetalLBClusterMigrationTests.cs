using IpvsOperator.Commands;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Controllers;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Migration;

/// <summary>
/// <c>migrate metallb</c> without files: MetalLB's objects read from the cluster (LocalCluster with
/// MetalLB's CRDs, through the real client), and <c>--apply</c> writing ours there, once.
/// Each test has a MetalLB namespace and pool names of its own.
/// </summary>
public class MetalLBClusterMigrationTests : ControllerFixture
{
    private EntityClient<V1Alpha1BGPPeer> peers = null!;

    [OneTimeSetUp]
    public async Task InstallMetalLBAsync()
    {
        await MetalLBCluster.InstallCrdsAsync(Client);
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = WellKnown.NodeNamespace } });
        peers = new EntityClient<V1Alpha1BGPPeer>(Client);
    }

    [Test]
    public async Task MetalLBs_objects_and_password_Secret_are_read_from_the_cluster_applied_and_a_second_run_changes_nothing()
    {
        var metallb = await NewNamespaceAsync("metallb");
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "tor-password" },
            Type = "kubernetes.io/basic-auth",
            Data = new Dictionary<string, byte[]> { ["password"] = "s3cret-pass"u8.ToArray() },
        }, metallb);
        await MetalLBCluster.CreateAsync(Client, metallb, """
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: read-prod}
            spec: {addresses: [198.51.100.0/28]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: BGPAdvertisement
            metadata: {name: read-prod-bgp}
            spec: {ipAddressPools: [read-prod], localPref: 120}
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: read-tor}
            spec: {myASN: 64500, peerASN: 64501, peerAddress: 10.0.0.1, passwordSecret: {name: tor-password}}
            """);

        var first = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { Apply = true, MetalLBNamespace = metallb });

        first.ExitCode.Should().Be(0, first.Report);
        first.Output.Should().Contain("created IPPool read-prod").And.Contain("created BGPPeer read-tor").And.Contain($"created Secret {WellKnown.NodeNamespace}/tor-password");
        first.Report.Should().Contain($"note: cluster (BGPPeer {metallb}/read-tor): spec.passwordSecret: Secret {metallb}/tor-password is copied to {WellKnown.NodeNamespace}/tor-password")
            .And.NotContain("action:", "the Secret is copied, so there is nothing left to do").And.NotContain("s3cret-pass");
        var pool = (await Pools.GetAsync(null, "read-prod"))!;
        pool.Spec.Addresses.Should().Equal("198.51.100.0/28");
        pool.Spec.Announce!.Bgp!.LocalPreference.Should().Be(120);
        var peer = (await peers.GetAsync(null, "read-tor"))!;
        (peer.Spec.LocalASN, peer.Spec.PeerASN, peer.Spec.PeerAddress, peer.Spec.PasswordSecret!.Name).Should().Be((64500L, 64501L, "10.0.0.1", "tor-password"));
        var copied = await Client.CoreV1.ReadNamespacedSecretAsync("tor-password", WellKnown.NodeNamespace);
        copied.Data["password"].Should().Equal("s3cret-pass"u8.ToArray());

        var before = RequestCounts();
        var second = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { Apply = true, MetalLBNamespace = metallb });

        second.ExitCode.Should().Be(0, second.Report);
        second.Output.Should().Contain("applied: nothing to change; the cluster already holds all 3 object(s)");
        WritesSince(before).Should().BeEmpty("a second run writes nothing");
    }

    [Test]
    public async Task Without_apply_a_password_Secret_read_from_the_cluster_is_never_printed_and_the_report_says_how_to_copy_it()
    {
        var metallb = await NewNamespaceAsync("metallb");
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "edge-password" },
            Data = new Dictionary<string, byte[]> { ["password"] = "edge-s3cret"u8.ToArray() },
        }, metallb);
        await CreateBgpPoolAndPeerAsync(metallb, "print-prod", "198.51.100.80/28", "print-edge", "peerAddress: 10.0.0.2, passwordSecret: {name: edge-password}");
        var folder = Directory.CreateTempSubdirectory("metallb-out-");
        try
        {
            var printed = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { MetalLBNamespace = metallb });
            var written = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { MetalLBNamespace = metallb, Output = folder });

            printed.ExitCode.Should().Be(0, printed.Report);
            written.ExitCode.Should().Be(0, written.Report);
            var base64 = Convert.ToBase64String("edge-s3cret"u8.ToArray());
            foreach (var text in new[] { printed.Output, printed.Report, written.Output, written.Report }.Concat(folder.GetFiles().Select(f => File.ReadAllText(f.FullName))))
            {
                text.Should().NotContain("edge-s3cret").And.NotContain(base64).And.NotContain("kind: Secret");
            }
            folder.GetFiles().Select(f => f.Name).Should().NotContain(name => name.StartsWith("secret-", StringComparison.Ordinal));
            printed.Report.Should().Contain($"action: cluster (BGPPeer {metallb}/print-edge): spec.passwordSecret:")
                .And.Contain($"kubectl create secret generic -n {WellKnown.NodeNamespace} edge-password --from-literal=password=\"$(kubectl get secret -n {metallb} edge-password -o jsonpath='{{.data.password}}' | base64 -d)\"");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Test]
    public async Task Apply_creates_a_Secret_for_a_password_held_in_the_BGPPeer_and_prints_it_nowhere()
    {
        var metallb = await NewNamespaceAsync("metallb");
        await CreateBgpPoolAndPeerAsync(metallb, "inline-prod", "198.51.100.96/28", "inline-peer", "peerAddress: 10.0.0.3, password: inline-s3cret");

        var run = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { Apply = true, MetalLBNamespace = metallb });

        run.ExitCode.Should().Be(0, run.Report);
        run.Output.Should().Contain($"created Secret {WellKnown.NodeNamespace}/inline-peer-bgp-password");
        (run.Output + run.Report).Should().NotContain("inline-s3cret").And.NotContain(Convert.ToBase64String("inline-s3cret"u8.ToArray()));
        var created = await Client.CoreV1.ReadNamespacedSecretAsync("inline-peer-bgp-password", WellKnown.NodeNamespace);
        created.Data["password"].Should().Equal("inline-s3cret"u8.ToArray());
    }

    [Test]
    public async Task A_Service_IpvsOperator_already_serves_is_left_out_of_the_renumbering_check()
    {
        var metallb = await NewNamespaceAsync("metallb");
        await MetalLBCluster.CreateAsync(Client, metallb, """
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: beside-ours}
            spec: {addresses: [198.51.100.112/28]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: L2Advertisement
            metadata: {name: beside-ours-l2}
            """);
        // A pool of ours, and a Service our controller gave an address from it (its claim names the Service).
        await CreatePoolAsync("served-ours", "198.51.100.192/28");
        var apps = await NewNamespaceAsync("served");
        await CreateServiceAsync(apps, "served-web");
        var controller = StartController();
        var address = await WaitForAddressAsync(apps, "served-web");
        await StopAsync(controller);

        var run = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { MetalLBNamespace = metallb });

        run.ExitCode.Should().Be(0, run.Report);
        run.Report.Should().NotContain("change:", "the Service's address is IpvsOperator's claim, not MetalLB's to keep");
        run.Report.Should().Contain($"note: cluster: IPAllocation: 1 Service(s) hold addresses that IPAllocations already claim for them, so IpvsOperator serves them and they are left as they are: {apps}/served-web")
            .And.NotContain(address + " lies in no IPPool");
        run.Output.Should().NotContain("kind: IPAllocation");
    }

    [Test]
    public async Task An_object_of_ours_with_other_content_is_reported_and_kept_unless_overwrite_is_given()
    {
        var metallb = await NewNamespaceAsync("metallb");
        await MetalLBCluster.CreateAsync(Client, metallb, """
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: edited}
            spec: {addresses: [198.51.100.32/28]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: L2Advertisement
            metadata: {name: edited-l2}
            spec: {ipAddressPools: [edited]}
            """);
        await CreatePoolAsync("edited", "198.51.100.32/29");

        var kept = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { Apply = true, MetalLBNamespace = metallb });

        kept.ExitCode.Should().Be(MigrateCommand.NotOverwritten, kept.Report);
        kept.Output.Should().Contain("conflict: IPPool edited exists with other content; it is not overwritten (run again with --overwrite to replace it)");
        (await Pools.GetAsync(null, "edited"))!.Spec.Addresses.Should().Equal("198.51.100.32/29");

        var replaced = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { Apply = true, Overwrite = true, MetalLBNamespace = metallb });

        replaced.ExitCode.Should().Be(0, replaced.Report);
        replaced.Output.Should().Contain("replaced IPPool edited");
        (await Pools.GetAsync(null, "edited"))!.Spec.Addresses.Should().Equal("198.51.100.32/28");
    }

    [Test]
    public async Task A_namespace_without_MetalLB_objects_is_said_and_nothing_written()
    {
        var empty = await NewNamespaceAsync("nometallb");

        var run = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { Apply = true, MetalLBNamespace = empty });

        run.ExitCode.Should().Be(MigrateCommand.UnreadableInput);
        run.Report.Should().Contain($"no MetalLB object (apiVersion metallb.io/...) in namespace {empty} of the cluster");
    }

    /// <summary>A MetalLB pool announced over BGP to one peer (AS 64500 to 64501) whose <paramref name="peerFields"/> say its address and password.</summary>
    private async Task CreateBgpPoolAndPeerAsync(string metallb, string pool, string cidr, string peer, string peerFields) =>
        await MetalLBCluster.CreateAsync(Client, metallb, $$"""
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: {{pool}}}
            spec: {addresses: [{{cidr}}]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: BGPAdvertisement
            metadata: {name: {{pool}}-bgp}
            spec: {ipAddressPools: [{{pool}}]}
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: {{peer}}}
            spec: {myASN: 64500, peerASN: 64501, {{peerFields}}}
            """);
}
