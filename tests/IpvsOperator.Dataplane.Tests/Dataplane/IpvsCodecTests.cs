using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Ipvs;
using IpvsOperator.Dataplane.Netlink;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>Golden IPVS encodings, worked out by hand from include/uapi/linux/ip_vs.h.</summary>
public class IpvsCodecTests
{
    private static readonly VirtualServiceKey Web = new(IPAddressValue.Parse("10.96.0.10"), IpvsProtocol.TCP, 80);

    [Test]
    public void NEW_SERVICE_encodes_byte_for_byte()
    {
        var payload = IpvsCodec.Command(IpvsConstants.CmdNewService, new VirtualService(Web, "rr"));

        payload.Should().Equal(
            0x01, 0x01, 0x00, 0x00,                         // IPVS_CMD_NEW_SERVICE, version 1
            0x48, 0x00, 0x01, 0x80,                         // IPVS_CMD_ATTR_SERVICE, nested, 72 bytes
            0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF_INET
            0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, // IPPROTO_TCP
            0x08, 0x00, 0x03, 0x00, 0x0a, 0x60, 0x00, 0x0a, // 10.96.0.10
            0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00, // port 80, network order
            0x07, 0x00, 0x06, 0x00, 0x72, 0x72, 0x00, 0x00, // "rr\0"
            0x0c, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, // flags 0, mask ~0
            0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, // timeout 0
            0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff); // netmask /32
    }

    [Test]
    public void NEW_DEST_encodes_the_service_key_then_the_destination()
    {
        var payload = IpvsCodec.Command(IpvsConstants.CmdNewDest, null, Web, new Destination(IPAddressValue.Parse("10.0.0.2"), 8080));

        payload.Should().Equal(
            0x05, 0x01, 0x00, 0x00,                         // IPVS_CMD_NEW_DEST
            0x24, 0x00, 0x01, 0x80,                         // the service, by its key only: 36 bytes
            0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
            0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00,
            0x08, 0x00, 0x03, 0x00, 0x0a, 0x60, 0x00, 0x0a,
            0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00,
            0x3c, 0x00, 0x02, 0x80,                         // IPVS_CMD_ATTR_DEST, nested, 60 bytes
            0x08, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x02, // 10.0.0.2
            0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00, // port 8080, network order
            0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, // IP_VS_CONN_F_MASQ
            0x08, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, // weight 1
            0x08, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, // upper threshold
            0x08, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, // lower threshold
            0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00); // IPVS_DEST_ATTR_ADDR_FAMILY AF_INET
    }

    private static readonly byte[] WebKey =
    [
        0x24, 0x00, 0x01, 0x80,                         // IPVS_CMD_ATTR_SERVICE, nested, 36 bytes: the key only
        0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00,
        0x08, 0x00, 0x03, 0x00, 0x0a, 0x60, 0x00, 0x0a,
        0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00,
    ];

    [TestCase(IpvsConstants.CmdDelService)]
    [TestCase(IpvsConstants.CmdGetDest)]
    [TestCase(IpvsConstants.CmdGetService)]
    public void Commands_that_name_a_service_carry_its_key_only(byte command)
    {
        IpvsCodec.Command(command, null, Web).Should().Equal([command, 0x01, 0x00, 0x00, .. WebKey]);
    }

    [Test]
    public void SET_SERVICE_carries_the_whole_service_with_persistence_and_sh_flags()
    {
        var payload = IpvsCodec.Command(IpvsConstants.CmdSetService, new VirtualService(Web, "sh", Persistent: true, TimeoutSeconds: 300, SchedulerFlags: IpvsConstants.FlagSchedSh2));

        payload[..4].Should().Equal(IpvsConstants.CmdSetService, 0x01, 0x00, 0x00);
        payload[4..8].Should().Equal(0x48, 0x00, 0x01, 0x80);
        payload[40..48].Should().Equal(0x07, 0x00, 0x06, 0x00, 0x73, 0x68, 0x00, 0x00);                         // "sh\0"
        payload[48..60].Should().Equal(0x0c, 0x00, 0x07, 0x00, 0x11, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff); // persistent | sh-port
        payload[60..68].Should().Equal(0x08, 0x00, 0x08, 0x00, 0x2c, 0x01, 0x00, 0x00);                         // timeout 300
    }

    [TestCase(IpvsConstants.CmdSetDest)]
    [TestCase(IpvsConstants.CmdDelDest)]
    public void Destination_commands_carry_the_key_then_the_destination(byte command)
    {
        var payload = IpvsCodec.Command(command, null, Web, new Destination(IPAddressValue.Parse("10.0.0.2"), 8080, 5, ForwardMethod.Tunnel));

        payload[..4].Should().Equal(command, 0x01, 0x00, 0x00);
        payload[4..40].Should().Equal(WebKey);
        payload[40..44].Should().Equal(0x3c, 0x00, 0x02, 0x80);
        payload[60..68].Should().Equal(0x08, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00); // IP_VS_CONN_F_TUNNEL
        payload[68..76].Should().Equal(0x08, 0x00, 0x04, 0x00, 0x05, 0x00, 0x00, 0x00); // weight 5
    }

    [Test]
    public void A_dumped_service_with_an_IPv4_address_padded_to_16_bytes_decodes()
    {
        var address = new byte[16];
        new byte[] { 10, 96, 0, 10 }.CopyTo(address, 0);
        var flags = new byte[] { 0x11, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
        var attributes = new AttributeWriter().BeginNested(IpvsConstants.CmdAttrService)
            .U16(IpvsConstants.SvcAttrAf, IpvsConstants.AfInet).U16(IpvsConstants.SvcAttrProtocol, 6).Bytes(IpvsConstants.SvcAttrAddr, address)
            .U16BigEndian(IpvsConstants.SvcAttrPort, 443).Text(IpvsConstants.SvcAttrSchedName, "sh").Bytes(IpvsConstants.SvcAttrFlags, flags)
            .U32(IpvsConstants.SvcAttrTimeout, 10800).U32(IpvsConstants.SvcAttrNetmask, 0xffffffff).EndNested().ToArray();
        var reply = new NetlinkMessage(30, NetlinkConstants.NlmFMulti, 1, 0, GenericNetlink.Header(IpvsConstants.CmdNewService, 1).Concat(attributes).ToArray());

        IpvsCodec.DecodeService(reply).Should().Be(new VirtualService(new VirtualServiceKey(IPAddressValue.Parse("10.96.0.10"), IpvsProtocol.TCP, 443), "sh", true, 10800, IpvsConstants.FlagSchedSh2));
    }

    [Test]
    public void A_firewall_mark_service_is_not_read_as_one_of_ours_and_says_what_it_is()
    {
        // What the kernel dumps for `ipvsadm -A -f 1`: a family and a mark, no address, protocol or port.
        var attributes = new AttributeWriter().BeginNested(IpvsConstants.CmdAttrService)
            .U16(IpvsConstants.SvcAttrAf, IpvsConstants.AfInet).U32(IpvsConstants.SvcAttrFwmark, 1).Text(IpvsConstants.SvcAttrSchedName, "wlc")
            .U32(IpvsConstants.SvcAttrTimeout, 0).U32(IpvsConstants.SvcAttrNetmask, 0xffffffff).EndNested().ToArray();
        var reply = new NetlinkMessage(30, NetlinkConstants.NlmFMulti, 1, 0, GenericNetlink.Header(IpvsConstants.CmdNewService, 1).Concat(attributes).ToArray());

        IpvsCodec.TryDecodeService(reply, out _, out var shape).Should().BeFalse();
        shape.Should().Be("firewall-mark service 1 (IPv4)");
    }

    [Test]
    public void An_IPv6_destination_round_trips()
    {
        var key = new VirtualServiceKey(IPAddressValue.Parse("2001:db8::10"), IpvsProtocol.UDP, 53);
        var destination = new Destination(IPAddressValue.Parse("fd00::2"), 5353, 7, ForwardMethod.DirectRoute, 100, 10);
        var payload = IpvsCodec.Command(IpvsConstants.CmdNewDest, null, key, destination);

        IpvsCodec.DecodeDestination(new NetlinkMessage(30, 0, 1, 0, payload), key.Address.Family).Should().Be(destination);
    }

    [Test]
    public void A_kernel_without_IPVS_gets_one_clear_error()
    {
        var act = () => IpvsNetlink.Open(familyName: "IPVS-NOT-THERE");

        act.Should().Throw<IpvsUnavailableException>()
            .WithMessage("the kernel has no IPVS*'IPVS-NOT-THERE'*modprobe ip_vs*");
    }
}
