namespace IpvsOperator.LocalCluster;

/// <summary>
/// Who the request being served comes from, for admission (policies' <c>request.userInfo</c>, the
/// AdmissionReview's <c>userInfo</c>): set once the request is authorized, it flows with the request's
/// async calls down to the writes it makes. Null outside a request (the server's own writes).
/// </summary>
internal static class RequestUser
{
    private static readonly AsyncLocal<UserInfo?> Current = new();

    public static UserInfo? Value
    {
        get => Current.Value;
        set => Current.Value = value;
    }
}
