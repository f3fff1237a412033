namespace IpvsOperator.Dataplane;

/// <summary>
/// The flags of the hashing schedulers, by the names ipvsadm gives them (<c>-b sh-port</c>): sh and
/// mh share the two bits (IP_VS_SVC_F_SCHED1 and SCHED2), each scheduler reading them as its own.
/// Fallback: a flow whose destination is unavailable (weight 0, overloaded) is hashed again onto
/// another instead of failing. Port: the source port is hashed with the source address, so one
/// client's connections spread over the destinations.
/// </summary>
public static class IpvsSchedulerFlags
{
    public const uint Fallback = 0x8;
    public const uint Port = 0x10;

    /// <summary>The flags by name, per scheduler: only sh and mh have any.</summary>
    public static readonly IReadOnlyDictionary<string, uint> Named = new Dictionary<string, uint>(StringComparer.Ordinal)
    {
        ["sh-fallback"] = Fallback,
        ["sh-port"] = Port,
        ["mh-fallback"] = Fallback,
        ["mh-port"] = Port,
    };

    /// <summary>The bits for <paramref name="names"/> (each one of <see cref="Named"/>).</summary>
    public static uint Of(IEnumerable<string> names) => names.Aggregate(0u, (bits, name) => bits | Named[name]);
}
