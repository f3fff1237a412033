namespace IpvsOperator.Commands;

/// <summary>Another local mode holds the state directory; the message says which process and what to do.</summary>
internal sealed class StateDirectoryInUseException(string message) : Exception(message);
