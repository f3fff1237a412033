using System.Net.NetworkInformation;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Neighbours;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>
/// ARP probes and duplicate-address solicitations from our AF_PACKET sockets, answered (or not) by
/// a real kernel: two network namespaces the test creates, joined by a veth pair, the far side
/// holding some of the probed addresses. Frames go only over that veth pair.
/// </summary>
[NonParallelizable]
public class NeighbourProbeTests
{
    private const string ProberMac = "02:00:00:00:01:0a";
    private const string HolderMac = "02:00:00:00:01:0b";
    private const string StaleMac = "02:00:00:00:01:99";
    // Long enough for a loaded machine: the free addresses cost the whole window.
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    private readonly string prober = $"ipvsop-p-{Guid.NewGuid().ToString("N")[..6]}";
    private readonly string holder = $"ipvsop-h-{Guid.NewGuid().ToString("N")[..6]}";
    private RouteNetlink route = null!;
    private LinkInfo link = null!;

    [OneTimeSetUp]
    public async Task CreateNamespacesAsync()
    {
        await Processes.Sh($"ip netns add {prober}");
        await Processes.Sh($"ip netns add {holder}");
        await Processes.Sh($"ip -n {prober} link add veth0 address {ProberMac} type veth peer name veth1 address {HolderMac} netns {holder}");
        await Processes.Sh($"ip -n {prober} link set veth0 up");
        await Processes.Sh($"ip -n {holder} link set veth1 up");
        await Processes.Sh($"ip -n {holder} addr add 198.51.100.254/24 dev veth1");
        await Processes.Sh($"ip -n {holder} addr add 198.51.100.20/32 dev veth1");
        await Processes.Sh($"ip -n {holder} addr add 2001:db8::fe/64 dev veth1 nodad");
        await Processes.Sh($"ip -n {holder} addr add 2001:db8::20/128 dev veth1 nodad");
        route = new RouteNetlink(NetworkNamespaces.Open($"/var/run/netns/{prober}", NetlinkConstants.NetlinkRoute));
        link = route.ListLinks().Single(l => l.Name == "veth0");
    }

    [OneTimeTearDown]
    public async Task RemoveNamespacesAsync()
    {
        route?.Dispose();
        await Processes.RunAsync("ip", ["netns", "del", prober]);
        await Processes.RunAsync("ip", ["netns", "del", holder]);
    }

    [Test]
    public async Task The_addresses_another_device_holds_are_answered_with_its_hardware_address_and_only_those()
    {
        IPAddressValue[] held = [IPAddressValue.Parse("198.51.100.20"), IPAddressValue.Parse("2001:db8::20")];
        IPAddressValue[] free = [IPAddressValue.Parse("198.51.100.21"), IPAddressValue.Parse("2001:db8::21")];

        var answered = await ProbeAsync([.. held, .. free]);

        answered.Keys.Should().BeEquivalentTo(held, "the far kernel answers the ARP probe and the solicitation for its own addresses, and for nothing else");
        answered.Values.Should().AllBeEquivalentTo(PhysicalAddress.Parse(HolderMac));
    }

    [TestCase("198.51.100.22", "-4")]
    [TestCase("2001:db8::22", "-6")]
    public async Task A_probe_claims_nothing_a_neighbour_that_knew_the_address_elsewhere_still_does(string text, string family)
    {
        // A gratuitous ARP or an advertisement would repoint this entry at the prober (NeighbourAnnouncementTests); a probe must not.
        await Processes.Sh($"ip -n {holder} {family} neigh replace {text} lladdr {StaleMac} dev veth1 nud stale");

        (await ProbeAsync([IPAddressValue.Parse(text)])).Should().BeEmpty("nobody holds the address");

        (await Processes.RunAsync("ip", ["-n", holder, "neigh", "show", text, "dev", "veth1"])).Output.Should().Contain($"lladdr {StaleMac}");
    }

    [Test]
    public void Frames_of_this_node_and_answers_for_addresses_not_probed_are_no_answer()
    {
        var own = PhysicalAddress.Parse(ProberMac);
        var other = PhysicalAddress.Parse(HolderMac);
        var address = IPAddressValue.Parse("198.51.100.20");
        var announcement = NeighbourFrames.GratuitousArp(address, other, NeighbourFrames.ArpReply);

        NeighbourFrames.Answer(announcement, own, new HashSet<IPAddressValue> { address }).Should().Be((address, other));
        NeighbourFrames.Answer(NeighbourFrames.GratuitousArp(address, own, NeighbourFrames.ArpReply), own, new HashSet<IPAddressValue> { address }).Should().BeNull("this node's own frames come back to its socket");
        NeighbourFrames.Answer(announcement, own, new HashSet<IPAddressValue> { IPAddressValue.Parse("198.51.100.21") }).Should().BeNull();
        NeighbourFrames.Answer(NeighbourFrames.Probe(address, other), own, new HashSet<IPAddressValue> { address }).Should().BeNull("another prober claims nothing either");
        NeighbourFrames.Answer(announcement.AsSpan(0, 20), own, new HashSet<IPAddressValue> { address }).Should().BeNull("a truncated frame");
    }

    private Task<IReadOnlyDictionary<IPAddressValue, PhysicalAddress>> ProbeAsync(IReadOnlyCollection<IPAddressValue> addresses) =>
        new PacketSocketProber($"/var/run/netns/{prober}").ProbeAsync(link, addresses, Window, CancellationToken.None);
}
