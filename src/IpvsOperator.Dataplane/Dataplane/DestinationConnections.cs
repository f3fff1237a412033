using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane;

/// <summary>
/// The connections the kernel holds to one destination now: active ones (TCP established) and
/// inactive ones (any other state: opening, closing, TIME_WAIT, UDP). Kept apart from
/// <see cref="Destination"/>, which is what the agent programs and compares.
/// </summary>
public sealed record DestinationConnections(IPAddressValue Address, ushort Port, uint Active, uint Inactive);
