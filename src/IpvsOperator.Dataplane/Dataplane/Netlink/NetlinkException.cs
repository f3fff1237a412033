namespace IpvsOperator.Dataplane.Netlink;

/// <summary>
/// The kernel refused a netlink request (or a netlink socket could not be opened): errno (positive,
/// e.g. 17 EEXIST, 2 ENOENT, 3 ESRCH), its kind for callers that handle it, and what was asked.
/// </summary>
internal sealed class NetlinkException(int errorNumber, string request, string? hint = null)
    : DataplaneException(KindOf(errorNumber), request, Describe(errorNumber), hint)
{
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EPERM = 1;
    public const int EOPNOTSUPP = 95;
    public const int EADDRNOTAVAIL = 99;

    public int ErrorNumber { get; } = errorNumber;

    private static DataplaneError KindOf(int errno) => errno switch
    {
        EEXIST => DataplaneError.AlreadyExists,
        ENOENT or ESRCH or ENODEV => DataplaneError.NotFound,
        EADDRNOTAVAIL => DataplaneError.AddressNotAvailable,
        _ => DataplaneError.Failed,
    };

    private static string Describe(int errno) => errno switch
    {
        EPERM => "operation not permitted (EPERM; needs CAP_NET_ADMIN)",
        ENOENT => "no such object (ENOENT)",
        ESRCH => "no such object (ESRCH)",
        EEXIST => "already exists (EEXIST)",
        ENODEV => "no such device (ENODEV)",
        EINVAL => "invalid argument (EINVAL)",
        EOPNOTSUPP => "not supported by this kernel (EOPNOTSUPP)",
        EADDRNOTAVAIL => "no such address (EADDRNOTAVAIL)",
        _ => $"errno {errno}",
    };
}
