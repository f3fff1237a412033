namespace IpvsOperator.Migration;

/// <summary>Input that cannot be read as Kubernetes objects: the message names the file and the document.</summary>
internal sealed class MetalLBInputException(string message) : Exception(message);
