using IpvsOperator.Commands;
using IpvsOperator.Entities;
using IpvsOperator.Migration;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Tests.Migration;

/// <summary>
/// MetalLB configurations modelled on MetalLB's documented examples, translated by the verb and
/// read back from the YAML it writes, field by field; and what it says and refuses.
/// </summary>
public class MetalLBTranslationTests
{
    [Test]
    public void A_layer_2_pool_becomes_an_IPPool_announced_over_layer_2()
    {
        var run = MetalLBMigrationRun.OfSample("layer2-simple.yaml");

        run.ExitCode.Should().Be(0, run.Report);
        var pool = run.Pool("first-pool");
        pool.ApiVersion.Should().Be("ipvsoperator.io/v1alpha1");
        pool.Spec.Addresses.Should().Equal("192.168.1.240-192.168.1.250");
        pool.Spec.AutoAssign.Should().BeTrue();
        pool.Spec.AvoidBuggyIPs.Should().BeFalse();
        pool.Spec.Priority.Should().Be(0);
        pool.Spec.ServiceAllocation.Should().BeNull();
        pool.Spec.Announce!.Modes.Should().Equal(PoolAnnouncement.Layer2Mode);
        pool.Spec.Announce.Bgp.Should().BeNull();
        run.Objects.Should().HaveCount(1);
        run.Changes.Should().BeEmpty();
        run.WebhookReaderErrors().Should().BeEmpty();
    }

    [Test]
    public void Communities_from_aliases_large_communities_and_local_preference_go_into_the_pool()
    {
        var run = MetalLBMigrationRun.OfSample("bgp-communities-localpref.yaml");

        run.ExitCode.Should().Be(0, run.Report);
        var pool = run.Pool("first-pool");
        pool.Spec.Announce!.Modes.Should().Equal(PoolAnnouncement.BgpMode);
        var bgp = pool.Spec.Announce.Bgp!;
        bgp.Communities.Should().Equal("1234:1", "65535:65282");
        bgp.LargeCommunities.Should().Equal("64500:1:2");
        bgp.LocalPreference.Should().Be(100);
        bgp.AggregationLength.Should().BeNull("MetalLB's aggregationLength 32 is no aggregation");
        bgp.NodeSelector.Should().BeNull();

        var peer = run.Peer("sample").Spec;
        (peer.PeerAddress, peer.PeerASN, peer.LocalASN, peer.Port).Should().Be(("10.0.0.1", 64501L, 64500L, 179));
        (peer.HoldTime, peer.KeepaliveTime).Should().Be(("180s", "60s"), "MetalLB leaves FRR's traditional defaults when it sets no timers");
        peer.Bfd.Should().BeNull();
        peer.PasswordSecret.Should().BeNull();
        peer.EbgpMultihop.Should().BeNull();
        run.Lines("note: ").Should().Contain(l => l.Contains("BGPPeer metallb-system/sample") && l.Contains("hold 180s and keepalive 60s"));
        run.WebhookReaderErrors().Should().BeEmpty();
    }

    [Test]
    public void A_BFD_profile_gives_each_peer_that_names_it_its_intervals_and_multiplier()
    {
        var run = MetalLBMigrationRun.OfSample("bfd-profile.yaml");

        run.ExitCode.Should().Be(0, run.Report);
        foreach (var name in new[] { "peer", "legacy" })
        {
            var bfd = run.Peer(name).Spec.Bfd!;
            (bfd.TransmitIntervalMilliseconds, bfd.ReceiveIntervalMilliseconds, bfd.DetectMultiplier).Should().Be((270, 380, 3), name);
        }
        var legacy = run.Peer("legacy").Spec;
        (legacy.PeerASN, legacy.LocalASN, legacy.PeerAddress).Should().Be((64513L, 64512L, "172.30.0.4"));
        (legacy.HoldTime, legacy.KeepaliveTime).Should().Be(("9s", "3s"), "a hold time alone gives a keepalive of a third of it, as in MetalLB");
        legacy.EbgpMultihop.Should().Be(255, "FRR's ebgp-multihop without a TTL, as MetalLB writes it");
        legacy.NodeSelector!.MatchLabels.Should().Equal(new Dictionary<string, string> { ["rack"] = "frontend" });
        run.Pool("bgp-pool").Spec.Announce!.Modes.Should().Equal(PoolAnnouncement.BgpMode);
        run.WebhookReaderErrors().Should().BeEmpty();
    }

    [Test]
    public void A_password_Secret_is_referenced_and_a_plain_password_moves_into_a_Secret_of_its_own()
    {
        var run = MetalLBMigrationRun.OfSample("password-secret.yaml");

        run.ExitCode.Should().Be(0, run.Report);
        var withSecret = run.Peer("peer-with-secret").Spec;
        (withSecret.PasswordSecret!.Name, withSecret.PasswordSecret.Key).Should().Be(("secretname", "password"));
        (withSecret.HoldTime, withSecret.KeepaliveTime).Should().Be(("540s", "0s"));
        run.Lines("action: ").Should().Contain(l => l.Contains("copy Secret metallb-system/secretname") && l.Contains("ipvs-operator-node/secretname"));

        var withPassword = run.Peer("peer-with-password").Spec;
        (withPassword.PasswordSecret!.Name, withPassword.PasswordSecret.Key).Should().Be(("peer-with-password-bgp-password", "password"));
        run.Lines("action: ").Should().Contain(l => l.Contains("peer-with-password") && l.Contains("keep it out of Git")
            && l.Contains($"kubectl create secret generic -n {WellKnown.NodeNamespace} peer-with-password-bgp-password --from-file=password="));
        run.WebhookReaderErrors().Should().BeEmpty();
    }

    [Test]
    public void No_password_and_no_Secret_reaches_stdout_or_the_report()
    {
        var run = MetalLBMigrationRun.OfSample("password-secret.yaml");

        run.ExitCode.Should().Be(0, run.Report);
        run.Objects.OfType<V1Secret>().Should().BeEmpty("the YAML goes to terminals, files and Git");
        run.Report.Should().StartWith("translated 0 IPPool(s), 2 BGPPeer(s), 1 Secret(s) (for --apply only: the YAML holds none)");
        run.Output.Should().NotContain("kind: Secret").And.NotContain("s3cr3t-md5").And.NotContain(Convert.ToBase64String("s3cr3t-md5"u8.ToArray()));
        run.Report.Should().NotContain("s3cr3t-md5").And.NotContain(Convert.ToBase64String("s3cr3t-md5"u8.ToArray()));
    }

    [Test]
    public void Out_writes_no_Secret_file_and_no_password()
    {
        var folder = Directory.CreateTempSubdirectory("metallb-out-");
        try
        {
            var run = MetalLBMigrationRun.Of([MetalLBMigrationRun.Sample("password-secret.yaml")], output: folder);

            run.ExitCode.Should().Be(0, run.Report);
            Directory.GetFiles(folder.FullName).Select(Path.GetFileName).Should().BeEquivalentTo("bgppeer-peer-with-secret.yaml", "bgppeer-peer-with-password.yaml");
            Directory.GetFiles(folder.FullName).Select(File.ReadAllText).Should().AllSatisfy(text => text.Should().NotContain("s3cr3t-md5").And.NotContain("kind: Secret"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Test]
    public void Namespaces_selectors_and_priorities_keep_MetalLB_s_order_of_pools()
    {
        var run = MetalLBMigrationRun.OfSample("namespace-service-selectors.yaml");

        run.ExitCode.Should().Be(0, run.Report);
        var pinned = run.Pool("ippool-ns-service-alloc-sample").Spec;
        pinned.AvoidBuggyIPs.Should().BeTrue();
        pinned.Priority.Should().Be(50);
        pinned.ServiceAllocation!.Namespaces.Should().Equal("namespace-a", "namespace-b");
        pinned.ServiceAllocation.NamespaceSelector.Should().BeNull();
        var services = pinned.ServiceAllocation.ServiceSelector!.MatchExpressions.Single();
        (services.Key, services.OperatorProperty).Should().Be(("app", "In"));
        services.Values.Should().Equal("bar");

        var team = run.Pool("team-pool").Spec;
        var namespaces = team.ServiceAllocation!.NamespaceSelector!.MatchExpressions.Single();
        (namespaces.Key, namespaces.OperatorProperty).Should().Be(("team", "In"));
        namespaces.Values.Should().Equal(["a", "b"], "team: a or team: b is team In (a, b)");
        team.ServiceAllocation.Namespaces.Should().BeNull();

        // MetalLB: pools with a priority, then pools with a serviceAllocation and none, then the rest.
        team.Priority.Should().BeGreaterThan(pinned.Priority);
        run.Pool("cheap").Spec.Priority.Should().BeGreaterThan(team.Priority);
        run.Pool("expensive").Spec.Priority.Should().Be(run.Pool("cheap").Spec.Priority);
        run.Pool("cheap").Spec.ServiceAllocation.Should().BeNull();
        run.Pool("expensive").Spec.AutoAssign.Should().BeFalse();
        run.Objects.OfType<V1Alpha1IPPool>().Should().OnlyContain(p => p.Spec.Announce!.Modes.SequenceEqual(new[] { PoolAnnouncement.Layer2Mode }),
            "an L2Advertisement that names no pool selects every pool");
        run.WebhookReaderErrors().Should().BeEmpty();
    }

    [Test]
    public void Aggregation_and_a_subset_of_nodes_are_kept_and_the_Local_difference_must_be_accepted()
    {
        var refused = MetalLBMigrationRun.OfSample("aggregation.yaml");
        refused.ExitCode.Should().Be(MigrateCommand.BehaviourChanges);
        refused.Output.Should().BeEmpty("nothing is written until the changes are accepted");
        refused.Changes.Should().ContainSingle(l => l.Contains("BGPAdvertisement metallb-system/aggregated") && l.Contains("externalTrafficPolicy: Local"));
        refused.Report.Should().Contain("--accept-changes");

        var run = MetalLBMigrationRun.OfSample("aggregation.yaml", acceptChanges: true);
        run.ExitCode.Should().Be(0, run.Report);
        var pool = run.Pool("first-pool").Spec;
        pool.Addresses.Should().Equal(["198.51.100.0/24", "fc00:f853:ccd:e799::/124"], "MetalLB reads a CIDR with host bits as its network; IPv6 is written canonically");
        pool.Announce!.Modes.Should().Equal(PoolAnnouncement.Layer2Mode, PoolAnnouncement.BgpMode);
        (pool.Announce.Bgp!.AggregationLength, pool.Announce.Bgp.AggregationLengthV6).Should().Be((24, 124));
        var nodes = pool.Announce.Bgp.NodeSelector!.MatchExpressions.Single();
        (nodes.Key, nodes.OperatorProperty).Should().Be(("kubernetes.io/hostname", "In"));
        nodes.Values.Should().Equal("NodeA", "NodeB");
        run.Lines("note: ").Should().Contain(l => l.Contains("'198.51.100.10/24' has host bits set"));
        run.WebhookReaderErrors().Should().BeEmpty();
    }

    [Test]
    public void A_pool_no_advertisement_selects_stays_unannounced_and_is_reported()
    {
        var run = MetalLBMigrationRun.OfSample("pool-without-advertisement.yaml");

        run.ExitCode.Should().Be(0, run.Report);
        var pool = run.Pool("first-pool").Spec;
        pool.Addresses.Should().Equal("192.168.10.0/24", "192.168.9.1-192.168.9.5", "fc00:f853:ccd:e799::/124");
        var announce = pool.Announce!;
        announce.Modes.Should().Equal(PoolAnnouncement.BgpMode);
        var selector = announce.Bgp!.NodeSelector;
        BgpPeerReader.Selects(selector, new Dictionary<string, string> { ["kubernetes.io/hostname"] = "lb-1" }).Should().BeFalse();
        BgpPeerReader.Selects(selector, new Dictionary<string, string> { [PoolTranslator.NotAnnouncedLabel] = "true" }).Should().BeFalse("no node matches, whatever its labels");
        run.Lines("note: ").Should().Contain(l => l.Contains("IPAddressPool metallb-system/first-pool") && l.Contains("announces none"));
        run.WebhookReaderErrors().Should().BeEmpty();
    }

    [Test]
    public void Every_field_without_an_equivalent_is_reported_and_fails_the_command_unless_accepted()
    {
        const string yaml = """
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: pool, namespace: metallb-system}
            spec:
              addresses: [192.0.2.0/28]
            ---
            apiVersion: metallb.io/v1beta1
            kind: L2Advertisement
            metadata: {name: l2, namespace: metallb-system}
            spec:
              interfaces: [eth1]
              nodeSelectors:
              - matchLabels: {zone: a}
              serviceSelectors:
              - matchLabels: {tier: web}
              preferredNodeSelectors:
              - weight: 50
                preference: {matchLabels: {zone: a}}
            ---
            apiVersion: metallb.io/v1beta1
            kind: BGPAdvertisement
            metadata: {name: bgp, namespace: metallb-system}
            spec:
              peers: [tor]
              serviceSelectors:
              - matchLabels: {tier: web}
            ---
            apiVersion: metallb.io/v1beta1
            kind: BGPAdvertisement
            metadata: {name: bgp-preferred, namespace: metallb-system}
            spec:
              localPref: 200
            ---
            apiVersion: metallb.io/v1beta1
            kind: BFDProfile
            metadata: {name: echo, namespace: metallb-system}
            spec:
              echoMode: true
              passiveMode: true
              minimumTtl: 10
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: tor, namespace: metallb-system}
            spec:
              myASN: 64512
              peerASN: 64512
              peerAddress: 10.0.0.1
              holdTime: 90s
              keepaliveTime: 60s
              bfdProfile: echo
              nodeSelectors:
              - matchLabels: {rack: a}
              - matchLabels: {zone: b}
              vrf: red
              routerID: 10.0.0.100
              connectTime: 5s
              enableGracefulRestart: true
              dualStackAddressFamily: true
              someFutureField: 1
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: dynamic, namespace: metallb-system}
            spec:
              myASN: 64512
              dynamicASN: external
              peerAddress: 10.0.0.2
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: unnumbered, namespace: metallb-system}
            spec:
              myASN: 64512
              peerASN: 64513
              interface: eth2
            ---
            apiVersion: frrk8s.metallb.io/v1beta1
            kind: FRRConfiguration
            metadata: {name: with-recv, namespace: metallb-system}
            spec:
              bgp: {routers: [{asn: 64512}]}
            """;
        var run = MetalLBMigrationRun.OfText(yaml);

        run.ExitCode.Should().Be(MigrateCommand.BehaviourChanges);
        run.Output.Should().BeEmpty();
        foreach (var (where, field) in new[]
        {
            ("L2Advertisement metallb-system/l2", "spec.interfaces"), ("L2Advertisement metallb-system/l2", "spec.nodeSelectors"),
            ("BGPAdvertisement metallb-system/bgp", "spec.peers"),
            ("BGPPeer metallb-system/tor", "spec.vrf"), ("BGPPeer metallb-system/tor", "spec.routerID"), ("BGPPeer metallb-system/tor", "spec.connectTime"),
            ("BGPPeer metallb-system/tor", "spec.enableGracefulRestart"), ("BGPPeer metallb-system/tor", "spec.dualStackAddressFamily"),
            ("BGPPeer metallb-system/tor", "spec.someFutureField"),
            ("BGPPeer metallb-system/dynamic", "spec.dynamicASN"), ("BGPPeer metallb-system/unnumbered", "spec.interface"),
            ("FRRConfiguration metallb-system/with-recv", "kind"),
            ("L2Advertisement metallb-system/l2", "spec.serviceSelectors"), ("L2Advertisement metallb-system/l2", "spec.preferredNodeSelectors"),
            ("BGPAdvertisement metallb-system/bgp", "spec.serviceSelectors"),
            ("IPAddressPool metallb-system/pool", "localPref, aggregationLength"),
            ("BFDProfile metallb-system/echo", "spec.echoMode"), ("BFDProfile metallb-system/echo", "spec.passiveMode"), ("BFDProfile metallb-system/echo", "spec.minimumTtl"),
            ("BGPPeer metallb-system/tor", "spec.keepaliveTime"), ("BGPPeer metallb-system/tor", "spec.nodeSelectors"),
        })
        {
            run.Changes.Should().ContainSingle(l => l.Contains(where) && l.Contains($": {field}: "), $"{field} of {where} is reported once");
        }

        var accepted = MetalLBMigrationRun.OfText(yaml, acceptChanges: true);
        accepted.ExitCode.Should().Be(0, accepted.Report);
        accepted.Objects.OfType<V1Alpha1BGPPeer>().Select(p => p.Metadata.Name).Should().Equal(["tor"], "a peer without an AS number or an address cannot be written");
        accepted.Pool("pool").Spec.Announce!.Modes.Should().Equal(PoolAnnouncement.Layer2Mode, PoolAnnouncement.BgpMode);
        accepted.Pool("pool").Spec.Announce!.Bgp?.LocalPreference.Should().BeNull("the advertisements disagree, and the first by name, bgp, sets none");
        var tor = accepted.Peer("tor").Spec;
        (tor.HoldTime, tor.KeepaliveTime).Should().Be(("90s", "30s"), "a keepalive over a third of the hold time becomes a third");
        tor.NodeSelector.Should().BeNull("rack: a or zone: b has no one-selector equivalent; every node peers, as reported");
        tor.Bfd!.DetectMultiplier.Should().Be(3);
        accepted.WebhookReaderErrors().Should().BeEmpty();
    }

    [Test]
    public void Unreadable_input_exits_2_naming_the_file_and_the_document()
    {
        var broken = MetalLBMigrationRun.OfText("""
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: fine}
            spec: {addresses: [192.0.2.0/28]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: broken
            spec: [
            """);
        broken.ExitCode.Should().Be(MigrateCommand.UnreadableInput);
        broken.Report.Should().MatchRegex(@"metallb\.yaml document 2: not YAML");
        broken.Output.Should().BeEmpty();

        var mistyped = MetalLBMigrationRun.OfText("""
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: tor, namespace: metallb-system}
            spec: {myASN: 64512, peerASN: many, peerAddress: 10.0.0.1}
            """);
        mistyped.ExitCode.Should().Be(MigrateCommand.UnreadableInput);
        mistyped.Report.Should().Contain("document 1 (BGPPeer metallb-system/tor): spec.peerASN is \"many\"; MetalLB expects a whole number");

        var missing = MetalLBMigrationRun.Of(["/nonexistent/metallb.yaml"]);
        missing.ExitCode.Should().Be(MigrateCommand.UnreadableInput);
        missing.Report.Should().Contain("/nonexistent/metallb.yaml: no such file or folder");
    }

    [Test]
    public void A_document_whose_aliases_expand_to_a_billion_nodes_is_refused_naming_the_file_and_document()
    {
        // 700 bytes: nine levels of ten aliases of the level below, 10^9 nodes once expanded.
        var levels = Enumerable.Range(1, 9).Select(level => $"l{level}: &l{level} [{string.Join(", ", Enumerable.Repeat(level == 1 ? "x" : $"*l{level - 1}", 10))}]");
        var bomb = MetalLBMigrationRun.OfText($$"""
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: fine}
            spec: {addresses: [198.51.100.0/28]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: bomb}
            spec:
              addresses: [198.51.100.16/28]
              {{string.Join("\n  ", levels)}}
            """);

        bomb.ExitCode.Should().Be(MigrateCommand.UnreadableInput);
        bomb.Report.Should().MatchRegex(@"metallb\.yaml document 2: its aliases expand to more than 100,000 nodes; refused");
        bomb.Output.Should().BeEmpty();
    }

    [Test]
    public void An_escape_sequence_in_a_name_reaches_the_report_escaped_never_raw()
    {
        var run = MetalLBMigrationRun.OfText("""
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: "evil\e[2J\e]0;title\apool"}
            spec: {addresses: [198.51.100.0/28]}
            """);

        run.Report.Should().Contain("evil\\u001b[2J\\u001b]0;title\\u0007pool", "the name is shown, escaped")
            .And.NotContain("\u001b", "no escape sequence reaches the terminal").And.NotContain("\u0007");
        run.Output.Should().NotContain("\u001b").And.NotContain("\u0007");
    }

    [Test]
    public void A_few_YAML_aliases_are_read_as_the_values_they_stand_for()
    {
        var run = MetalLBMigrationRun.OfText("""
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: aliased, labels: &labels {team: web}}
            spec:
              addresses: &addresses [198.51.100.0/28]
              serviceAllocation: {namespaceSelectors: [{matchLabels: *labels}]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: L2Advertisement
            metadata: {name: aliased-l2}
            spec: {ipAddressPools: [aliased]}
            """);

        run.ExitCode.Should().Be(0, run.Report);
        run.Pool("aliased").Spec.Addresses.Should().Equal("198.51.100.0/28");
        run.Pool("aliased").Spec.ServiceAllocation!.NamespaceSelector!.MatchLabels.Should().Equal(new Dictionary<string, string> { ["team"] = "web" });
    }

    [Test]
    public void Objects_the_webhooks_would_refuse_are_not_written()
    {
        var run = MetalLBMigrationRun.OfText("""
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: wide, namespace: metallb-system}
            spec: {addresses: [192.0.2.0/24]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: narrow, namespace: metallb-system}
            spec: {addresses: [192.0.2.128/25]}
            ---
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: linklocal, namespace: metallb-system}
            spec: {addresses: [169.254.10.0/24]}
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: a, namespace: metallb-system}
            spec: {myASN: 64512, peerASN: 64500, peerAddress: 10.0.0.1}
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: b, namespace: metallb-system}
            spec: {myASN: 64513, peerASN: 64500, peerAddress: 10.0.0.2}
            ---
            apiVersion: metallb.io/v1beta2
            kind: BGPPeer
            metadata: {name: c, namespace: metallb-system}
            spec: {myASN: 64512, peerASN: 64500, peerAddress: 10.0.0.3, holdTime: 2s}
            """, acceptChanges: true);

        run.ExitCode.Should().Be(MigrateCommand.RefusedObject);
        run.Output.Should().BeEmpty();
        var refusals = run.Lines("refused: ").ToList();
        refusals.Should().Contain(l => l.StartsWith("refused: IPPool wide") && l.Contains("narrow") && l.Contains("pools may not share addresses")
            || l.StartsWith("refused: IPPool narrow") && l.Contains("wide") && l.Contains("pools may not share addresses"));
        refusals.Should().Contain(l => l.StartsWith("refused: IPPool linklocal") && l.Contains("169.254.10.0/24"));
        refusals.Should().Contain(l => l.StartsWith("refused: BGPPeer b") && l.Contains("localASN 64513") && l.Contains("BGPPeer a"));
        refusals.Should().Contain(l => l.StartsWith("refused: BGPPeer c") && l.Contains("spec.holdTime 2s"));
        refusals.Should().OnlyContain(l => l.Contains("(from ") && l.Contains("document "), "each refusal names the MetalLB object it came from");
    }

    [Test]
    public void A_folder_is_read_whole_and_out_writes_one_file_per_object()
    {
        var input = Directory.CreateTempSubdirectory("metallb-in-");
        var output = new DirectoryInfo(Path.Combine(Directory.CreateTempSubdirectory("metallb-out-").FullName, "ipvs"));
        try
        {
            Directory.CreateDirectory(Path.Combine(input.FullName, "bgp"));
            File.Copy(MetalLBMigrationRun.Sample("bfd-profile.yaml"), Path.Combine(input.FullName, "bgp", "peers.yaml"));
            File.Copy(MetalLBMigrationRun.Sample("layer2-simple.yaml"), Path.Combine(input.FullName, "layer2.yml"));
            File.WriteAllText(Path.Combine(input.FullName, "README.md"), "not read: not YAML");

            var run = MetalLBMigrationRun.Of([input.FullName], output: output);

            run.ExitCode.Should().Be(0, run.Report);
            output.GetFiles().Select(f => f.Name).Should().BeEquivalentTo("ippool-bgp-pool.yaml", "ippool-first-pool.yaml", "bgppeer-peer.yaml", "bgppeer-legacy.yaml");
            run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(4, "the paths written are printed");
            var pool = k8s.KubernetesYaml.Deserialize<V1Alpha1IPPool>(File.ReadAllText(Path.Combine(output.FullName, "ippool-first-pool.yaml")));
            pool.Spec.Announce!.Modes.Should().Equal([PoolAnnouncement.Layer2Mode, PoolAnnouncement.BgpMode],
                "the L2Advertisement of layer2.yml names it, and the BGPAdvertisement of bgp/peers.yaml names no pool, so it selects every pool of the input");
        }
        finally
        {
            input.Delete(recursive: true);
            output.Parent!.Delete(recursive: true);
        }
    }
}
