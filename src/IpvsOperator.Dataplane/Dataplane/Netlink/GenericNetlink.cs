namespace IpvsOperator.Dataplane.Netlink;

/// <summary>Generic netlink: finding a family's id by name through the nlctrl family.</summary>
internal static class GenericNetlink
{
    /// <summary>The generic header: command, version, two reserved bytes.</summary>
    public static byte[] Header(byte command, byte version) => [command, version, 0, 0];

    /// <summary>The family id of <paramref name="name"/>; a NetlinkException with ENOENT when the kernel has no such family.</summary>
    public static ushort ResolveFamily(NetlinkSocket socket, string name)
    {
        var payload = Header(NetlinkConstants.CtrlCmdGetFamily, 1).Concat(new AttributeWriter().Text(NetlinkConstants.CtrlAttrFamilyName, name).ToArray()).ToArray();
        var replies = socket.Request(NetlinkConstants.GenlIdCtrl, 0, payload, $"resolve generic netlink family {name}");
        foreach (var reply in replies)
        {
            var attributes = AttributeReader.Read(reply.Payload[NetlinkConstants.GenericHeaderLength..]);
            if (attributes.TryGetValue(NetlinkConstants.CtrlAttrFamilyId, out var id))
            {
                return id.U16();
            }
        }
        throw new NetlinkException(NetlinkException.ENOENT, $"resolve generic netlink family {name}", "the reply carried no family id");
    }
}
