namespace IpvsOperator.Runtime.Client;

/// <summary>A watch that went silent past its own timeout: its connection is taken for dead and the caller watches again.</summary>
internal sealed class WatchStalledException(string message) : Exception(message);
