namespace IpvsOperator.Node;

/// <summary>Something wrong with a Service that the agent worked around: an Event to write on it.</summary>
public sealed record ServiceWarning(string Namespace, string Name, string Reason, string Message);
