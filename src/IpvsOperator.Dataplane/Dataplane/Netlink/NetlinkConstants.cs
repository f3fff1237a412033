namespace IpvsOperator.Dataplane.Netlink;

/// <summary>
/// Numbers of the netlink protocol (linux/netlink.h, linux/genetlink.h, linux/rtnetlink.h),
/// in one place, as moby/ipvs keeps its constants.
/// </summary>
internal static class NetlinkConstants
{
    public const int AfNetlink = 16;
    public const int NetlinkRoute = 0;
    public const int NetlinkGeneric = 16;

    public const int HeaderLength = 16;
    public const int GenericHeaderLength = 4;
    public const int AttributeHeaderLength = 4;
    public const int Alignment = 4;

    // Message types.
    public const ushort NlmsgNoop = 1;
    public const ushort NlmsgError = 2;
    public const ushort NlmsgDone = 3;
    public const ushort GenlIdCtrl = 16;

    // Flags.
    public const ushort NlmFRequest = 0x1;
    public const ushort NlmFMulti = 0x2;
    public const ushort NlmFAck = 0x4;
    public const ushort NlmFExcl = 0x200;
    public const ushort NlmFCreate = 0x400;
    public const ushort NlmFDump = 0x300;

    public const ushort NlaFNested = 0x8000;
    public const ushort NlaTypeMask = 0x3fff;

    // Generic netlink controller (nlctrl).
    public const byte CtrlCmdGetFamily = 3;
    public const ushort CtrlAttrFamilyId = 1;
    public const ushort CtrlAttrFamilyName = 2;

    public static int Align(int length) => (length + Alignment - 1) & ~(Alignment - 1);
}
