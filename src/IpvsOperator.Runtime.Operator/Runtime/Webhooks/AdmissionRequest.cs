using System.Text.Json;

namespace IpvsOperator.Runtime.Webhooks;

/// <summary>What a validator is asked: the operation and the object before and after.</summary>
public sealed record AdmissionRequest(string Operation, string Name, string Namespace, JsonElement? NewObject, JsonElement? OldObject);
