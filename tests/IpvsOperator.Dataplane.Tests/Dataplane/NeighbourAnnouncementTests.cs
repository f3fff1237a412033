using System.Net.NetworkInformation;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Neighbours;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>
/// Gratuitous ARP and unsolicited neighbour advertisements from our AF_PACKET socket, judged by a
/// real kernel: two network namespaces the test creates, joined by a veth pair; the receiving side
/// holds a stale neighbour entry for the address, and the announcement must make its kernel point
/// the entry at the sender's hardware address (it drops a frame with a bad checksum, hop limit or
/// layout). Frames go only over that veth pair.
/// </summary>
[NonParallelizable]
public class NeighbourAnnouncementTests
{
    private const string SenderMac = "02:00:00:00:00:0a";
    private const string StaleMac = "02:00:00:00:00:99";
    private readonly string sender = $"ipvsop-s-{Guid.NewGuid().ToString("N")[..6]}";
    private readonly string receiver = $"ipvsop-r-{Guid.NewGuid().ToString("N")[..6]}";
    private RouteNetlink route = null!;
    private PacketSocketAdvertiser advertiser = null!;

    [OneTimeSetUp]
    public async Task CreateNamespacesAsync()
    {
        await Processes.Sh($"ip netns add {sender}");
        await Processes.Sh($"ip netns add {receiver}");
        await Processes.Sh($"ip -n {sender} link add veth0 address {SenderMac} type veth peer name veth1 netns {receiver}");
        await Processes.Sh($"ip -n {sender} link set veth0 up");
        await Processes.Sh($"ip -n {receiver} link set veth1 up");
        await Processes.Sh($"ip -n {receiver} addr add 198.51.100.254/24 dev veth1");
        await Processes.Sh($"ip -n {receiver} addr add 2001:db8::fe/64 dev veth1 nodad");
        route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{sender}", NetlinkConstants.NetlinkRoute));
        advertiser = NetworkNamespaces.Inside($"/var/run/netns/{sender}", () => new PacketSocketAdvertiser().Open());
    }

    [OneTimeTearDown]
    public async Task RemoveNamespacesAsync()
    {
        advertiser?.Dispose();
        route?.Dispose();
        await Processes.RunAsync("ip", ["netns", "del", sender]);
        await Processes.RunAsync("ip", ["netns", "del", receiver]);
    }

    [TestCase("198.51.100.7")]
    [TestCase("2001:db8::7")]
    public async Task A_neighbour_that_knew_the_address_elsewhere_now_reaches_it_here(string text)
    {
        var address = IPAddressValue.Parse(text);
        var family = address.Family == IPFamily.IPv4 ? "-4" : "-6";
        await Processes.Sh($"ip -n {receiver} {family} neigh replace {text} lladdr {StaleMac} dev veth1 nud stale");
        var link = route.ListLinks().Single(l => l.Name == "veth0");
        link.HardwareAddress.Should().Be(PhysicalAddress.Parse(SenderMac), "the link's hardware address is read from IFLA_ADDRESS");

        var frames = advertiser.Advertise(link, address);

        frames.Should().Be(address.Family == IPFamily.IPv4 ? 2 : 1, "a request and a reply for IPv4; one advertisement for IPv6");
        await Eventually.TrueAsync(async () => (await Neighbour(text)).Contains($"lladdr {SenderMac}"),
            () => $"the receiving kernel took the announcement: {Neighbour(text).Result}");
    }

    [Test]
    public void The_advertisement_checksum_is_the_one_the_RFC_1071_example_arithmetic_gives()
    {
        // The ones' complement sum of 0x0001 0xf203 0xf4f5 0xf6f7 is 0xddf2 (RFC 1071, section 3); with no
        // pseudo-header contribution beyond length and next header, the result is its complement.
        byte[] message = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        var zero = new byte[16];
        var sum = 0xddf2 + message.Length + 58;
        var expected = (ushort)~(ushort)((sum & 0xffff) + (sum >> 16));

        NeighbourFrames.Icmpv6Checksum(zero, zero, message).Should().Be(expected);
    }

    private async Task<string> Neighbour(string address) =>
        (await Processes.RunAsync("ip", ["-n", receiver, "neigh", "show", address, "dev", "veth1"])).Output.Trim();
}
