namespace IpvsOperator.Dataplane.Bgp;

/// <summary>BFD on a BGP session: how often each side sends and expects, and how many missed packets take the session down.</summary>
public sealed record BfdSettings(int TransmitIntervalMs = 300, int ReceiveIntervalMs = 300, int DetectMultiplier = 3);
