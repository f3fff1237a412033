using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A resource served over another one's storage, as upstream serves <c>events.k8s.io/v1</c> Events
/// from the core Events' store: requests are converted to the stored type and answers back.
/// </summary>
/// <param name="Stored">The resource whose objects these are.</param>
/// <param name="ToStored">A body of this resource as the stored type (its own validation already passed).</param>
/// <param name="FromStored">A stored object as this resource shows it.</param>
/// <param name="Validate">This resource's own validation of a body (and the old object, on an update), before conversion: the causes of a 422.</param>
public sealed record ResourceConversion(
    ApiResource Stored,
    Func<JsonObject, JsonObject> ToStored,
    Func<JsonObject, JsonObject> FromStored,
    Func<JsonObject, JsonObject?, List<(string Field, string Message)>> Validate);
