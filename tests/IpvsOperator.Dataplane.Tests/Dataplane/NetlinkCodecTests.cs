using System.Buffers.Binary;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Netlink;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>Golden encodings, worked out by hand from linux/netlink.h and linux/genetlink.h.</summary>
public class NetlinkCodecTests
{
    [Test]
    public void A_family_lookup_request_encodes_byte_for_byte()
    {
        var payload = GenericNetlink.Header(NetlinkConstants.CtrlCmdGetFamily, 1)
            .Concat(new AttributeWriter().Text(NetlinkConstants.CtrlAttrFamilyName, "IPVS").ToArray()).ToArray();

        var bytes = new NetlinkMessage(NetlinkConstants.GenlIdCtrl, NetlinkConstants.NlmFRequest, 0x01020304, 0, payload).Encode();

        bytes.Should().Equal(
            0x20, 0x00, 0x00, 0x00, // length 32: header 16 + genl 4 + attribute 12
            0x10, 0x00,             // type 16: nlctrl
            0x01, 0x00,             // NLM_F_REQUEST
            0x04, 0x03, 0x02, 0x01, // sequence
            0x00, 0x00, 0x00, 0x00, // port id
            0x03, 0x01, 0x00, 0x00, // CTRL_CMD_GETFAMILY, version 1
            0x09, 0x00, 0x02, 0x00, // attribute length 9, CTRL_ATTR_FAMILY_NAME
            (byte)'I', (byte)'P', (byte)'V', (byte)'S', 0x00, 0x00, 0x00, 0x00); // "IPVS\0" padded to 4
    }

    [Test]
    public void Nested_attributes_carry_the_nested_flag_and_their_total_length()
    {
        var bytes = new AttributeWriter().BeginNested(1).U16(1, 2).U16BigEndian(4, 80).EndNested().ToArray();

        bytes.Should().Equal(
            0x14, 0x00, 0x01, 0x80, // length 20, type 1 | NLA_F_NESTED
            0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // u16 2, padded
            0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00); // port 80 in network order, padded
        var outer = AttributeReader.Read(bytes)[1];
        outer.Nested.Should().BeTrue();
        outer.Children()[4].U16BigEndian().Should().Be(80);
    }

    [Test]
    public void A_dump_datagram_splits_into_its_messages_and_links_parse()
    {
        var link = new NetlinkMessage(RouteNetlink.RtmNewLink, NetlinkConstants.NlmFMulti, 7, 0,
            RouteNetlink.InterfaceInfo(3, RouteNetlink.IffUp | RouteNetlink.IffLowerUp, 0).Concat(new AttributeWriter().Text(RouteNetlink.IflaIfname, "ipvs-lb0")
                .BeginNested(RouteNetlink.IflaLinkinfo).Text(RouteNetlink.IflaInfoKind, "dummy").EndNested().ToArray()).ToArray()).Encode();
        var done = new NetlinkMessage(NetlinkConstants.NlmsgDone, NetlinkConstants.NlmFMulti, 7, 0, new byte[4]).Encode();

        var messages = NetlinkMessage.DecodeAll(link.Concat(done).ToArray());

        messages.Select(m => m.Type).Should().Equal(RouteNetlink.RtmNewLink, NetlinkConstants.NlmsgDone);
        RouteNetlink.ParseLink(messages[0]).Should().Be(new IpvsOperator.Dataplane.LinkInfo(3, "ipvs-lb0", true, "dummy"));
    }

    [Test]
    public void A_link_that_is_up_without_lower_up_has_no_carrier()
    {
        var unplugged = new NetlinkMessage(RouteNetlink.RtmNewLink, 0, 7, 0,
            RouteNetlink.InterfaceInfo(2, RouteNetlink.IffUp, 0).Concat(new AttributeWriter().Text(RouteNetlink.IflaIfname, "eth0").ToArray()).ToArray());

        var link = RouteNetlink.ParseLink(unplugged);

        link.Up.Should().BeTrue();
        link.Carrier.Should().BeFalse();
        link.Usable.Should().BeFalse("frames sent on it reach nobody");
    }

    [Test]
    public void Address_replies_parse_for_both_families()
    {
        NetlinkMessage Reply(byte family, byte[] address) => new(RouteNetlink.RtmNewAddr, 0, 1, 0,
            RouteNetlink.AddressInfo(family, (byte)(address.Length * 8), 5).Concat(new AttributeWriter().Bytes(RouteNetlink.IfaLocal, address).ToArray()).ToArray());

        RouteNetlink.ParseAddress(Reply(RouteNetlink.AfInet, [192, 0, 2, 10])).Should().Be(IPAddressValue.Parse("192.0.2.10"));
        RouteNetlink.ParseAddress(Reply(RouteNetlink.AfInet6, IPAddressValue.Parse("2001:db8::a").ToIPAddress().GetAddressBytes())).Should().Be(IPAddressValue.Parse("2001:db8::a"));
    }

    [Test]
    public void Address_and_link_requests_encode_byte_for_byte()
    {
        RouteNetlink.AddressInfo(RouteNetlink.AfInet, 32, 7).Should().Equal(
            0x02, 0x20, 0x00, 0x00, // AF_INET, /32, flags, scope
            0x07, 0x00, 0x00, 0x00); // ifindex 7
        RouteNetlink.InterfaceInfo(7, RouteNetlink.IffUp, RouteNetlink.IffUp).Should().Equal(
            0x00, 0x00, 0x00, 0x00, // family, pad, type
            0x07, 0x00, 0x00, 0x00, // ifindex 7
            0x01, 0x00, 0x00, 0x00, // IFF_UP
            0x01, 0x00, 0x00, 0x00); // change mask IFF_UP
        new AttributeWriter().Text(RouteNetlink.IflaIfname, "ipvs-lb0").BeginNested(RouteNetlink.IflaLinkinfo).Text(RouteNetlink.IflaInfoKind, "dummy").EndNested().ToArray()
            .Should().Equal(
                0x0d, 0x00, 0x03, 0x00, (byte)'i', (byte)'p', (byte)'v', (byte)'s', (byte)'-', (byte)'l', (byte)'b', (byte)'0', 0x00, 0x00, 0x00, 0x00, // IFLA_IFNAME
                0x10, 0x00, 0x12, 0x80,                                                                                 // IFLA_LINKINFO, nested, 16
                0x0a, 0x00, 0x01, 0x00, (byte)'d', (byte)'u', (byte)'m', (byte)'m', (byte)'y', 0x00, 0x00, 0x00);      // IFLA_INFO_KIND "dummy"
    }

    [Test]
    public void An_error_reply_carries_the_positive_errno()
    {
        var payload = new byte[20];
        BinaryPrimitives.WriteInt32LittleEndian(payload, -17);

        var error = new NetlinkMessage(NetlinkConstants.NlmsgError, 0, 1, 0, payload);

        error.ErrorNumber.Should().Be(17);
        new NetlinkException(17, "add address 192.0.2.1/32 on ipvs-lb0").Message.Should().Be("add address 192.0.2.1/32 on ipvs-lb0 failed: already exists (EEXIST)");
    }

    [TestCase(NetlinkException.EEXIST, DataplaneError.AlreadyExists)]
    [TestCase(NetlinkException.ENOENT, DataplaneError.NotFound)]
    [TestCase(NetlinkException.ESRCH, DataplaneError.NotFound)]
    [TestCase(NetlinkException.ENODEV, DataplaneError.NotFound)]
    [TestCase(NetlinkException.EADDRNOTAVAIL, DataplaneError.AddressNotAvailable)]
    [TestCase(NetlinkException.EPERM, DataplaneError.Failed)]
    public void An_errno_is_the_kind_of_refusal_callers_handle(int errno, DataplaneError error) =>
        new NetlinkException(errno, "add IPVS service").Error.Should().Be(error);

    [Test]
    public void Truncated_input_is_an_error_naming_the_offset()
    {
        var act = () => AttributeReader.Read(new byte[] { 0x10, 0x00, 0x01, 0x00, 0x00 });
        act.Should().Throw<FormatException>().WithMessage("*at offset 0 claims 16 bytes; 5 remain*");
        var message = () => NetlinkMessage.DecodeAll(new byte[] { 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 });
        message.Should().Throw<FormatException>();
    }
}
