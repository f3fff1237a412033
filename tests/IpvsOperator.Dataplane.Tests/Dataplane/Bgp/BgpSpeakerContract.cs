using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane.Bgp;

/// <summary>
/// One contract, two speakers: what the in-memory twin (local mode, the agent's host tests)
/// promises, FRR does, against BIRD on the other side (<see cref="FrrSpeakerContractTests"/>).
/// </summary>
public abstract class BgpSpeakerContract
{
    protected static readonly IPAddressValue RouterId = IPAddressValue.Parse(FrrLab.NodeAddress);
    protected static readonly IPAddressValue Router = IPAddressValue.Parse(FrrLab.RouterAddress);
    protected static readonly IPAddressValue Router6 = IPAddressValue.Parse(FrrLab.RouterAddress6);

    protected abstract IBgpSpeaker Speaker { get; }

    /// <summary>What a failing wait shows besides the session: the daemon's own view, where there is one.</summary>
    protected virtual string Diagnose() => string.Empty;

    protected static BgpPeering Peering(IPAddressValue address, uint peerAsn = 64500) =>
        new(address, peerAsn, 64512, KeepaliveSeconds: 1, HoldSeconds: 3);

    protected static IReadOnlyList<BgpAnnouncement> Vips(params string[] addresses) => [.. addresses.Select(a => new BgpAnnouncement(IPAddressValue.Parse(a)))];

    protected async Task<BgpSessionState> EstablishedAsync(IPAddressValue peer, int prefixes)
    {
        BgpSessionState? session = null;
        await Eventually.TrueAsync(() => (session = Speaker.ReadSessions().SingleOrDefault(s => s.Peer == peer)) is { IsEstablished: true } s && s.PrefixesAdvertised == prefixes,
            () => $"the session with {peer} is established and advertises {prefixes} prefixes; it is {session}\n{Diagnose()}", TimeSpan.FromSeconds(60));
        return session!;
    }

    [Test]
    public void Applying_the_same_configuration_again_writes_nothing_and_a_change_is_applied()
    {
        var first = FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.1"));
        var second = FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.1", "198.51.100.2"));

        Speaker.Apply(first).Should().BeTrue();
        Speaker.Apply(first).Should().BeFalse("nothing differs");
        Speaker.Apply(second).Should().BeTrue();
        Speaker.Apply(second).Should().BeFalse();
    }

    [Test]
    public async Task A_withdrawn_configuration_keeps_the_sessions_and_sends_no_prefix_until_it_is_announced_again()
    {
        var vips = Vips("198.51.100.31", "198.51.100.32");
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], vips));
        await EstablishedAsync(Router, 2);

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], vips, withdrawn: true)).Should().BeTrue();
        await EstablishedAsync(Router, 0);

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], vips)).Should().BeTrue();
        await EstablishedAsync(Router, 2);
    }

    [Test]
    public async Task Sessions_are_the_configured_neighbors_each_counting_the_prefixes_of_its_family_and_a_removed_one_goes()
    {
        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router), Peering(Router6)], Vips("198.51.100.1", "198.51.100.2", "2001:db8::1")));

        var v4 = await EstablishedAsync(Router, 2);
        var v6 = await EstablishedAsync(Router6, 1);
        (v4.LastError, v6.LastError).Should().Be((null, null));
        Speaker.ReadSessions().Select(s => s.Peer).Should().BeEquivalentTo([Router, Router6]);

        Speaker.Apply(FrrConfiguration.Render(RouterId, [Peering(Router)], Vips("198.51.100.1"))).Should().BeTrue();
        await EstablishedAsync(Router, 1);
        Speaker.ReadSessions().Select(s => s.Peer).Should().Equal(Router);
    }
}

/// <summary>The in-memory twin under the contract.</summary>
public class InMemoryBgpSpeakerContractTests : BgpSpeakerContract
{
    private InMemoryBgpSpeaker speaker = null!;

    protected override IBgpSpeaker Speaker => speaker;

    [SetUp]
    public void Create() => speaker = new InMemoryBgpSpeaker();
}
