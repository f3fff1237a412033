using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;

namespace IpvsOperator.Runtime.Client;

/// <summary>The kinds the runtime itself reads and writes: lists and watch events, statuses, deletes, Events, Leases.</summary>
[JsonSourceGenerationOptions(
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    Converters = [typeof(KubernetesTimeConverter), typeof(NullableKubernetesTimeConverter)])]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(V1Status))]
[JsonSerializable(typeof(V1DeleteOptions))]
[JsonSerializable(typeof(Corev1Event))]
[JsonSerializable(typeof(V1Lease))]
[JsonSerializable(typeof(V1ConfigMap))] // the kind the runtime's own tests drive it with
internal sealed partial class RuntimeJsonContext : JsonSerializerContext;
