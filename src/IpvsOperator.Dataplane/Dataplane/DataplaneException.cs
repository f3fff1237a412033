namespace IpvsOperator.Dataplane;

/// <summary>
/// The dataplane refused a request: what was asked and what kind of refusal it is. The kernel
/// adapters and the in-memory twins throw it alike, so callers handle "already exists" or "not
/// found" the same way against both, and a log line says which request failed and why.
/// </summary>
public class DataplaneException : Exception
{
    public DataplaneException(DataplaneError error, string request, string? hint = null)
        : this(error, request, Describe(error), hint)
    {
    }

    /// <summary>For an adapter that says the reason in its own terms (an errno, say).</summary>
    protected DataplaneException(DataplaneError error, string request, string reason, string? hint)
        : base($"{request} failed: {reason}{(hint is null ? string.Empty : "; " + hint)}")
    {
        Error = error;
        Request = request;
    }

    public DataplaneError Error { get; }

    public string Request { get; }

    public bool AlreadyExists => Error == DataplaneError.AlreadyExists;

    public bool NotFound => Error == DataplaneError.NotFound;

    /// <summary>An address to remove is not on the interface (gone already, e.g. its lifetime ran out).</summary>
    public bool AddressNotAvailable => Error == DataplaneError.AddressNotAvailable;

    private static string Describe(DataplaneError error) => error switch
    {
        DataplaneError.AlreadyExists => "already exists",
        DataplaneError.NotFound => "no such object",
        DataplaneError.AddressNotAvailable => "no such address",
        _ => "refused",
    };
}
