namespace IpvsOperator.Dataplane;

/// <summary>What kind of refusal a <see cref="DataplaneException"/> is: the kinds callers tell apart.</summary>
public enum DataplaneError
{
    /// <summary>Anything callers do not handle on its own (no permission, an invalid request, a kernel without the feature).</summary>
    Failed,

    /// <summary>The object to add is there already.</summary>
    AlreadyExists,

    /// <summary>The object asked about, or the one it belongs to (a service, a link), is not there.</summary>
    NotFound,

    /// <summary>An address to remove is not on the interface (gone already, e.g. its lifetime ran out).</summary>
    AddressNotAvailable,
}
