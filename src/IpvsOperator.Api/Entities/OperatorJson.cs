using System.Text.Json;
using System.Text.Json.Serialization;
using IpvsOperator.Runtime.Client;
using k8s.Models;

namespace IpvsOperator.Entities;

/// <summary>
/// The JSON of the kinds the operator reads and writes beyond the runtime's own (see
/// <see cref="ApiJson"/>), and of what its patches carry. A kind used with an EntityClient or an
/// Informer must be listed here: the first call says so otherwise.
/// </summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    Converters = [typeof(KubernetesTimeConverter), typeof(NullableKubernetesTimeConverter)])]
[JsonSerializable(typeof(JsonElement))] // what an object-typed field holds (managedFields' fieldsV1)
[JsonSerializable(typeof(V1Service))]
[JsonSerializable(typeof(V1EndpointSlice))]
[JsonSerializable(typeof(V1Node))]
[JsonSerializable(typeof(V1Namespace))]
[JsonSerializable(typeof(V1Secret))]
[JsonSerializable(typeof(V1ValidatingWebhookConfiguration))]
[JsonSerializable(typeof(List<V1Condition>))]
[JsonSerializable(typeof(List<Discoveryv1EndpointPort>))]
[JsonSerializable(typeof(V1Alpha1IPPool))]
[JsonSerializable(typeof(IPPoolStatus))]
[JsonSerializable(typeof(V1Alpha1IPAllocation))]
[JsonSerializable(typeof(V1Alpha1BGPPeer))]
[JsonSerializable(typeof(V1Alpha1IPVSNode))]
[JsonSerializable(typeof(IPVSNodeSpec))]
[JsonSerializable(typeof(IPVSNodeStatus))]
internal sealed partial class OperatorJsonContext : JsonSerializerContext;

/// <summary>The operator's kinds for the runtime's JSON: each program registers them first thing (Program.cs), as the tests' set-up does.</summary>
public static class OperatorJson
{
    public static void Register() => ApiJson.Register(OperatorJsonContext.Default);
}
