using System.Runtime.CompilerServices;
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
internal sealed partial class OperatorJsonContext : JsonSerializerContext
{
    /// <summary>Registered when the assembly loads, before any of its code can send or read an object.</summary>
    [ModuleInitializer]
    internal static void Register() => ApiJson.Register(Default);
}
