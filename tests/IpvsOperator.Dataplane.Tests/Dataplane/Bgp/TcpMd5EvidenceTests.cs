using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;

namespace IpvsOperator.Tests.Dataplane.Bgp;

public class TcpMd5EvidenceTests
{
    private static readonly IPAddressValue Signed = IPAddressValue.Parse("10.0.0.254");
    private static readonly IPAddressValue Plain = IPAddressValue.Parse("10.0.0.253");
    private static readonly HashSet<IPAddressValue> WithPassword = [Signed];

    private static BgpSessionState Down(IPAddressValue peer, string? reason = "Waiting for peer OPEN") => new(peer, "Active", 0, 0, null, reason);

    private static BgpSessionState Up(IPAddressValue peer) => new(peer, BgpSessionState.Established, 1, 3, null, null);

    /// <summary>A <c>/proc/net/netstat</c> as Linux 6.1 writes it, with the counters given.</summary>
    private static string Netstat(long notFound, long unexpected, long failure) =>
        "TcpExt: SyncookiesSent SyncookiesRecv TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted\n"
        + $"TcpExt: 0 0 {notFound} {unexpected} {failure} 7\n"
        + "IpExt: InNoRoutes InTruncatedPkts\nIpExt: 0 0\n";

    [Test]
    public void The_counters_are_read_from_the_TcpExt_lines_and_a_kernel_without_them_gives_none()
    {
        TcpMd5Counters.Parse(Netstat(1, 2, 3)).Should().Be(new TcpMd5Counters(1, 2, 3));
        TcpMd5Counters.Parse("TcpExt: SyncookiesSent\nTcpExt: 0\n").Should().BeNull("an old kernel counts none of them");
        TcpMd5Counters.Parse("TcpExt: TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure\nTcpExt: 1 x 3\n").Should().BeNull("a value that is not a count");
        TcpMd5Counters.Parse(string.Empty).Should().BeNull();
    }

    [Test]
    public void Segments_signed_with_another_password_name_the_password_as_the_reason_until_the_session_comes_up()
    {
        var evidence = new TcpMd5Evidence();
        evidence.Explain([Down(Signed)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 10)));

        var down = evidence.Explain([Down(Signed)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 12))).Single();
        down.LastError.Should().Be($"{TcpMd5Evidence.Failure}; FRR reports Waiting for peer OPEN");

        evidence.Explain([Down(Signed, null)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 12))).Single().LastError
            .Should().Be(TcpMd5Evidence.Failure, "kept between the router's attempts, when the counters do not move");
        evidence.Explain([Up(Signed)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 12))).Single().LastError.Should().BeNull();
        evidence.Explain([Down(Signed)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 12))).Single().LastError
            .Should().Be("Waiting for peer OPEN", "established since: the old evidence is gone");
    }

    [Test]
    public void Only_sessions_with_a_password_are_told_and_a_signed_segment_where_no_key_is_set_is_told_to_none()
    {
        var evidence = new TcpMd5Evidence();
        evidence.Explain([Down(Signed), Down(Plain)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 0)));

        // A router signing for an address the node has no key for may be any router: the FRR contract
        // tests' BIRD signs for another node address while a wrong ASN keeps an unsigned session down.
        var read = evidence.Explain([Down(Signed), Down(Plain), Up(IPAddressValue.Parse("10.0.0.252"))], WithPassword, TcpMd5Counters.Parse(Netstat(0, 4, 0)));
        read[0].LastError.Should().Be("Waiting for peer OPEN");
        read[1].LastError.Should().Be("Waiting for peer OPEN", "a session without a password is never told of MD5");
        read[2].LastError.Should().BeNull("an established session needs no reason");

        read = evidence.Explain([Down(Signed), Down(Plain)], WithPassword, TcpMd5Counters.Parse(Netstat(5, 4, 3)));
        read[0].LastError.Should().StartWith(TcpMd5Evidence.Failure);
        read[1].LastError.Should().Be("Waiting for peer OPEN");
        evidence.Explain([Down(Signed)], WithPassword, TcpMd5Counters.Parse(Netstat(6, 4, 3)))[0].LastError
            .Should().StartWith(TcpMd5Evidence.NotFound, "the newest evidence replaces the kept one: the router's configuration changed");
    }

    [Test]
    public void With_several_sessions_with_a_password_down_the_reason_says_the_counters_cannot_tell_which()
    {
        var other = IPAddressValue.Parse("10.0.0.251");
        var both = new HashSet<IPAddressValue> { Signed, other };
        var evidence = new TcpMd5Evidence();
        evidence.Explain([Down(Signed), Down(other)], both, TcpMd5Counters.Parse(Netstat(0, 0, 0)));

        var read = evidence.Explain([Down(Signed), Down(other)], both, TcpMd5Counters.Parse(Netstat(0, 0, 1)));

        read.Should().OnlyContain(s => s.LastError!.Contains("or of another of the 2 sessions with a password that are down", StringComparison.Ordinal));
    }

    [Test]
    public void Nothing_is_said_without_counters_or_before_a_second_read_and_a_changed_peer_forgets()
    {
        var evidence = new TcpMd5Evidence();
        evidence.Explain([Down(Signed)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 50))).Single().LastError
            .Should().Be("Waiting for peer OPEN", "the first read has nothing to compare with: counts since boot say nothing of this session");
        evidence.Explain([Down(Signed)], WithPassword, null).Single().LastError.Should().Be("Waiting for peer OPEN");
        evidence.Explain([Down(Signed)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 51))).Single().LastError.Should().StartWith(TcpMd5Evidence.Failure);

        evidence.Forget(Signed);

        evidence.Explain([Down(Signed)], WithPassword, TcpMd5Counters.Parse(Netstat(0, 0, 51))).Single().LastError.Should().Be("Waiting for peer OPEN");
    }
}
