using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;

namespace IpvsOperator.Tests.Dataplane.Bgp;

public class SessionDownReasonsTests
{
    private static readonly IPAddressValue Router = IPAddressValue.Parse("10.0.0.254");
    private static readonly IPAddressValue Other = IPAddressValue.Parse("10.0.0.253");
    private const string BadPeerAs = "OPEN Message Error/Bad Peer AS";

    private static (BgpSessionState, string?) Down(IPAddressValue peer, string reason, bool notification = false) =>
        (new BgpSessionState(peer, "Active", 0, 0, "Up", reason), notification ? reason : null);

    private static (BgpSessionState, string?) Up(IPAddressValue peer) =>
        (new BgpSessionState(peer, BgpSessionState.Established, 1, 3, "Up", null), null);

    [Test]
    public void A_NOTIFICATION_stays_the_reason_when_BFD_going_down_overwrites_it_in_FRR()
    {
        var reasons = new SessionDownReasons();
        reasons.Explain([Down(Router, BadPeerAs, notification: true)]).Single().LastError.Should().Be(BadPeerAs);

        var later = reasons.Explain([Down(Router, "BFD down received")]).Single();

        later.LastError.Should().Be($"{BadPeerAs}; since then FRR reports BFD down received");
        later.State.Should().Be("Active", "only the reason is kept; the state is what FRR says now");
    }

    [Test]
    public void A_reason_known_while_FRR_reports_another_shows_both()
    {
        var reasons = new SessionDownReasons();
        const string fromTheOpen = BadPeerAs + ": the peer's OPEN gives AS 64500, the BGPPeer's peerASN is 64501";

        reasons.Explain([(new BgpSessionState(Router, "Active", 0, 0, "Up", "BFD down received"), fromTheOpen)]).Single().LastError
            .Should().Be($"{fromTheOpen}; since then FRR reports BFD down received");
    }

    [Test]
    public void A_newer_NOTIFICATION_replaces_the_kept_one()
    {
        var reasons = new SessionDownReasons();
        reasons.Explain([Down(Router, BadPeerAs, notification: true)]);
        reasons.Explain([Down(Router, "OPEN Message Error/Authentication Failure", notification: true)]);

        reasons.Explain([Down(Router, "BFD down received")]).Single().LastError.Should().StartWith("OPEN Message Error/Authentication Failure;");
    }

    [Test]
    public void An_established_session_forgets_why_it_was_down()
    {
        var reasons = new SessionDownReasons();
        reasons.Explain([Down(Router, BadPeerAs, notification: true)]);
        reasons.Explain([Up(Router)]).Single().LastError.Should().BeNull();

        reasons.Explain([Down(Router, "BFD down received")]).Single().LastError.Should().Be("BFD down received", "the old reason was about an earlier failure");
    }

    [Test]
    public void A_changed_or_removed_peer_forgets_and_other_peers_keep_theirs()
    {
        var reasons = new SessionDownReasons();
        reasons.Explain([Down(Router, BadPeerAs, notification: true), Down(Other, BadPeerAs, notification: true)]);

        reasons.Forget(Router);
        var now = reasons.Explain([Down(Router, "BFD down received"), Down(Other, "BFD down received")]);
        now.Single(s => s.Peer == Router).LastError.Should().Be("BFD down received", "its ASN was changed, so the old NOTIFICATION says nothing about it");
        now.Single(s => s.Peer == Other).LastError.Should().StartWith(BadPeerAs);

        reasons.Explain([Down(Router, "BFD down received")]);
        reasons.Explain([Down(Router, "BFD down received"), Down(Other, "BFD down received")])
            .Single(s => s.Peer == Other).LastError.Should().Be("BFD down received", "a peer that left the configuration comes back with a clean slate");
    }
}
