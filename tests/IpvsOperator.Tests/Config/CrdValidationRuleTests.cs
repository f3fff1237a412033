using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Config;

/// <summary>
/// The checks of config/crd that need no other object are CEL rules in the CRDs: the API server
/// refuses a bad peer or pool itself, with the rule's message, even with the webhook configuration
/// deleted (the webhook down, or never installed). Run with the real kubectl against LocalCluster,
/// which evaluates the rules as kube-apiserver does.
/// </summary>
public class CrdValidationRuleTests : LocalClusterFixture
{
    private KubectlSession kubectl = null!;

    [OneTimeSetUp]
    public async Task InstallWithoutTheWebhookAsync()
    {
        kubectl = new KubectlSession(Server);
        (await kubectl.RunAsync("apply", "-f", Path.Combine(RepositoryRoot.Path, "config", "crd", "bases"))).ExitCode.Should().Be(0);
        (await kubectl.RunAsync("apply", "-f", Path.Combine(RepositoryRoot.Path, "config", "webhook", "manifests.yaml"))).ExitCode.Should().Be(0);
        var deleted = await kubectl.RunAsync("delete", "validatingwebhookconfiguration", "--all");
        deleted.ExitCode.Should().Be(0, deleted.Error);
    }

    [OneTimeTearDown]
    public void CloseKubectl() => kubectl.Dispose();

    private Task<ProcessResult> ApplyAsync(string yaml) => kubectl.RunWithInputAsync(yaml, "apply", "-f", "-");

    private static string Peer(string name, string holdTime, string keepaliveTime) => $"""
        apiVersion: ipvsoperator.io/v1alpha1
        kind: BGPPeer
        metadata: {"{"}name: {name}{"}"}
        spec: {"{"}peerAddress: 192.0.2.254, peerASN: 64500, localASN: 64512, holdTime: "{holdTime}", keepaliveTime: "{keepaliveTime}"{"}"}
        """;

    [Test]
    public async Task A_BGPPeer_whose_keepalive_is_more_than_a_third_of_its_hold_time_is_refused_with_the_rules_message()
    {
        var refused = await ApplyAsync(Peer("slow-keepalive", "90s", "40s"));

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("The BGPPeer \"slow-keepalive\" is invalid: spec.keepaliveTime: Invalid value: \"object\": " +
            "spec.keepaliveTime 40s is more than a third of spec.holdTime 90s: one lost keepalive would end the session; set keepaliveTime to at most 30s");
        (await ApplyAsync(Peer("fine", "90s", "30s"))).ExitCode.Should().Be(0);
        (await ApplyAsync(Peer("no-hold", "0s", "30s"))).ExitCode.Should().Be(0, "a hold time of 0s never takes the session down, whatever the keepalive");
        (await ApplyAsync(Peer("clock-form", "00:01:30", "40s"))).ExitCode.Should().Be(0, "a time CEL's duration() cannot read is the webhook's to judge");
    }

    [Test]
    public async Task A_BGPPeer_hold_time_under_3s_is_refused()
    {
        var refused = await ApplyAsync(Peer("short-hold", "2s", "0s"));

        refused.Error.Should().Contain("spec.holdTime: Invalid value: \"string\": spec.holdTime 2s is neither 0s nor 3s to 65535s (RFC 4271)");
    }

    [Test]
    public async Task An_IPPool_with_an_unknown_mode_or_BGP_settings_without_the_bgp_mode_is_refused()
    {
        var unknown = await ApplyAsync("""
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata: {name: arp}
            spec: {addresses: [192.0.2.0/28], announce: {modes: [arp]}}
            """);
        var bgpOff = await ApplyAsync("""
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata: {name: layer2-only}
            spec: {addresses: [192.0.2.16/28], announce: {modes: [layer2], bgp: {localPreference: 200}}}
            """);

        unknown.Error.Should().Contain("spec.announce.modes: Invalid value: \"array\": spec.announce.modes: 'arp' is not a way to announce; valid: layer2, bgp");
        bgpOff.Error.Should().Contain("spec.announce.bgp: Invalid value: \"object\": spec.announce.bgp is set but spec.announce.modes [layer2] does not include bgp");
    }

    [Test]
    public async Task An_IPAllocation_address_cannot_be_changed()
    {
        const string Claim = """
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPAllocation
            metadata: {name: ipv4-192-0-2-10}
            spec: {address: ADDRESS, pool: p, serviceRef: {namespace: default, name: web, uid: 0b6f3a52-1b1e-4c3e-9a57-5e3c1f0d2a10}}
            """;
        var created = await ApplyAsync(Claim.Replace("ADDRESS", "192.0.2.10", StringComparison.Ordinal));
        created.ExitCode.Should().Be(0, created.Error);

        var moved = await ApplyAsync(Claim.Replace("ADDRESS", "192.0.2.11", StringComparison.Ordinal));

        moved.Error.Should().Contain("spec.address: Invalid value: \"string\": spec.address is immutable");
    }
}
