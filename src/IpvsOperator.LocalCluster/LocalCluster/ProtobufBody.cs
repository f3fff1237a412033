using System.Text;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// Request bodies in Kubernetes' protobuf encoding (<c>application/vnd.kubernetes.protobuf</c>),
/// which kubectl's typed commands send for built-in types (<c>kubectl create namespace</c>,
/// <c>create configmap</c>, <c>create secret</c>, <c>create service</c>, <c>create role</c> and so
/// on). Read into JSON from the field numbers of upstream's generated.proto for the types served
/// here; answers are always JSON, which every client accepts. A field this table does not know is
/// refused (415), never dropped.
/// </summary>
internal static class ProtobufBody
{
    public const string MediaType = "application/vnd.kubernetes.protobuf";
    private static readonly byte[] Magic = "k8s\0"u8.ToArray();

    private enum Kind { String, Bytes, Int, Bool, Message, StringMap, BytesMap, Time, IntOrString }

    /// <param name="Repeated">A list in JSON.</param>
    /// <param name="Pointer">Kept when false or zero (a Go pointer field: explicitly set); other empty values are Go's zero values, omitted as in JSON.</param>
    private sealed record Field(string Name, Kind Kind, Message? Type = null, bool Repeated = false, bool Pointer = false);

    private sealed class Message(string name, Dictionary<int, Field> fields)
    {
        public string Name { get; } = name;
        public Dictionary<int, Field> Fields { get; } = fields;
    }

    private static Field S(string name) => new(name, Kind.String);
    private static Field Strings(string name) => new(name, Kind.String, Repeated: true);
    private static Field I(string name) => new(name, Kind.Int);
    private static Field M(string name, Message type, bool repeated = false) => new(name, Kind.Message, type, repeated);

    // What the server writes or this server does not judge (a Service's status, a review's selectors): read past, never kept.
    private static readonly Message Ignored = new("ignored", []);

    private static readonly Message OwnerReference = new("OwnerReference", new()
    {
        [1] = S("kind"), [3] = S("name"), [4] = S("uid"), [5] = S("apiVersion"),
        [6] = new("controller", Kind.Bool, Pointer: true), [7] = new("blockOwnerDeletion", Kind.Bool, Pointer: true),
    });

    private static readonly Message ObjectMeta = new("ObjectMeta", new()
    {
        [1] = S("name"), [2] = S("generateName"), [3] = S("namespace"), [4] = S("selfLink"), [5] = S("uid"), [6] = S("resourceVersion"),
        [7] = I("generation"), [8] = new("creationTimestamp", Kind.Time), [9] = new("deletionTimestamp", Kind.Time), [10] = I("deletionGracePeriodSeconds"),
        [11] = new("labels", Kind.StringMap), [12] = new("annotations", Kind.StringMap), [13] = M("ownerReferences", OwnerReference, repeated: true),
        [14] = Strings("finalizers"),
    });

    private static readonly Message Namespace = new("Namespace", new()
    {
        [1] = M("metadata", ObjectMeta),
        [2] = M("spec", new("NamespaceSpec", new() { [1] = Strings("finalizers") })),
        [3] = M("status", new("NamespaceStatus", new() { [1] = S("phase") })),
    });

    private static readonly Message ConfigMap = new("ConfigMap", new()
    {
        [1] = M("metadata", ObjectMeta), [2] = new("data", Kind.StringMap), [3] = new("binaryData", Kind.BytesMap), [4] = new("immutable", Kind.Bool, Pointer: true),
    });

    private static readonly Message Secret = new("Secret", new()
    {
        [1] = M("metadata", ObjectMeta), [2] = new("data", Kind.BytesMap), [3] = S("type"), [4] = new("stringData", Kind.StringMap),
        [5] = new("immutable", Kind.Bool, Pointer: true),
    });

    private static readonly Message ObjectReference = new("ObjectReference", new()
    {
        [1] = S("kind"), [2] = S("namespace"), [3] = S("name"), [4] = S("uid"), [5] = S("apiVersion"), [6] = S("resourceVersion"), [7] = S("fieldPath"),
    });

    private static readonly Message ServiceAccount = new("ServiceAccount", new()
    {
        [1] = M("metadata", ObjectMeta), [2] = M("secrets", ObjectReference, repeated: true),
        [3] = M("imagePullSecrets", new("LocalObjectReference", new() { [1] = S("name") }), repeated: true),
        [4] = new("automountServiceAccountToken", Kind.Bool, Pointer: true),
    });

    private static readonly Message ServicePort = new("ServicePort", new()
    {
        [1] = S("name"), [2] = S("protocol"), [3] = I("port"), [4] = new("targetPort", Kind.IntOrString), [5] = I("nodePort"), [6] = S("appProtocol"),
    });

    private static readonly Message ServiceSpec = new("ServiceSpec", new()
    {
        [1] = M("ports", ServicePort, repeated: true), [2] = new("selector", Kind.StringMap), [3] = S("clusterIP"), [4] = S("type"),
        [5] = Strings("externalIPs"), [7] = S("sessionAffinity"), [8] = S("loadBalancerIP"), [9] = Strings("loadBalancerSourceRanges"),
        [10] = S("externalName"), [11] = S("externalTrafficPolicy"), [12] = I("healthCheckNodePort"), [13] = new("publishNotReadyAddresses", Kind.Bool),
        [14] = M("sessionAffinityConfig", new("SessionAffinityConfig", new()
        {
            [1] = M("clientIP", new("ClientIPConfig", new() { [1] = new("timeoutSeconds", Kind.Int, Pointer: true) })),
        })),
        [17] = S("ipFamilyPolicy"), [18] = Strings("clusterIPs"), [19] = Strings("ipFamilies"), [20] = new("allocateLoadBalancerNodePorts", Kind.Bool, Pointer: true),
        [21] = S("loadBalancerClass"), [22] = S("internalTrafficPolicy"), [23] = S("trafficDistribution"),
    });

    private static readonly Message Service = new("Service", new()
    {
        [1] = M("metadata", ObjectMeta), [2] = M("spec", ServiceSpec), [3] = M("status", Ignored),
    });

    private static readonly Message PolicyRule = new("PolicyRule", new()
    {
        [1] = Strings("verbs"), [2] = Strings("apiGroups"), [3] = Strings("resources"), [4] = Strings("resourceNames"), [5] = Strings("nonResourceURLs"),
    });

    private static readonly Message Role = new("Role", new() { [1] = M("metadata", ObjectMeta), [2] = M("rules", PolicyRule, repeated: true) });

    private static readonly Message ClusterRole = new("ClusterRole", new() { [1] = M("metadata", ObjectMeta), [2] = M("rules", PolicyRule, repeated: true) });

    private static readonly Message RoleBinding = new("RoleBinding", new()
    {
        [1] = M("metadata", ObjectMeta),
        [2] = M("subjects", new("Subject", new() { [1] = S("kind"), [2] = S("apiGroup"), [3] = S("name"), [4] = S("namespace") }), repeated: true),
        [3] = M("roleRef", new("RoleRef", new() { [1] = S("apiGroup"), [2] = S("kind"), [3] = S("name") })),
    });

    private static readonly Message SelfSubjectAccessReview = new("SelfSubjectAccessReview", new()
    {
        [1] = M("metadata", ObjectMeta),
        [2] = M("spec", new("SelfSubjectAccessReviewSpec", new()
        {
            [1] = M("resourceAttributes", new("ResourceAttributes", new()
            {
                [1] = S("namespace"), [2] = S("verb"), [3] = S("group"), [4] = S("version"), [5] = S("resource"), [6] = S("subresource"), [7] = S("name"),
                [8] = M("fieldSelector", Ignored), [9] = M("labelSelector", Ignored),
            })),
            [2] = M("nonResourceAttributes", new("NonResourceAttributes", new() { [1] = S("path"), [2] = S("verb") })),
        })),
        [3] = M("status", Ignored),
    });

    private static readonly Message SelfSubjectRulesReview = new("SelfSubjectRulesReview", new()
    {
        [1] = M("metadata", ObjectMeta), [2] = M("spec", new("SelfSubjectRulesReviewSpec", new() { [1] = S("namespace") })), [3] = M("status", Ignored),
    });

    /// <summary>What <c>kubectl auth whoami</c> sends: nothing but metadata; the server fills in the status.</summary>
    private static readonly Message SelfSubjectReview = new("SelfSubjectReview", new() { [1] = M("metadata", ObjectMeta), [2] = M("status", Ignored) });

    private static readonly Dictionary<string, Message> ByKind = new(StringComparer.Ordinal)
    {
        ["SelfSubjectAccessReview"] = SelfSubjectAccessReview, ["SelfSubjectRulesReview"] = SelfSubjectRulesReview, ["SelfSubjectReview"] = SelfSubjectReview,
        ["Namespace"] = Namespace, ["ConfigMap"] = ConfigMap, ["Secret"] = Secret, ["ServiceAccount"] = ServiceAccount, ["Service"] = Service,
        ["Role"] = Role, ["ClusterRole"] = ClusterRole, ["RoleBinding"] = RoleBinding, ["ClusterRoleBinding"] = RoleBinding,
    };

    public static bool IsProtobuf(string? contentType) => (contentType ?? string.Empty).Split(';')[0].Trim() == MediaType;

    /// <summary>The object in <paramref name="body"/> (the "k8s\0" envelope around runtime.Unknown), as JSON.</summary>
    public static JsonObject Decode(ReadOnlySpan<byte> body)
    {
        if (!body.StartsWith(Magic))
        {
            throw ApiException.BadRequest("the protobuf body does not start with the Kubernetes envelope \"k8s\\0\"");
        }
        string? apiVersion = null, kind = null;
        byte[]? raw = null;
        var reader = new Reader(body[Magic.Length..].ToArray());
        while (reader.More)
        {
            var (number, wire) = reader.Tag();
            switch (number)
            {
                case 1:
                    var typeMeta = new Reader(reader.Bytes());
                    while (typeMeta.More)
                    {
                        var (field, type) = typeMeta.Tag();
                        if (field == 1) { apiVersion = typeMeta.String(); }
                        else if (field == 2) { kind = typeMeta.String(); }
                        else { typeMeta.Skip(type); }
                    }
                    break;
                case 2:
                    raw = reader.Bytes();
                    break;
                case 3:
                    if (reader.String() is { Length: > 0 } encoding)
                    {
                        throw ApiException.UnsupportedMediaType($"protobuf content encoding \"{encoding}\" is not supported");
                    }
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
        if (kind is null || !ByKind.TryGetValue(kind, out var message))
        {
            throw ApiException.UnsupportedMediaType(
                $"LocalCluster reads protobuf bodies of {string.Join(", ", ByKind.Keys)}, not of {kind ?? "an object without a kind"}; send it as JSON (application/json)");
        }
        var obj = Read(new Reader(raw ?? []), message);
        var result = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind };
        foreach (var (name, value) in obj)
        {
            result[name] = value?.DeepClone();
        }
        return result;
    }

    private static JsonObject Read(Reader reader, Message message)
    {
        var obj = new JsonObject();
        while (reader.More)
        {
            var (number, wire) = reader.Tag();
            if (message == Ignored)
            {
                reader.Skip(wire);
                continue;
            }
            if (!message.Fields.TryGetValue(number, out var field))
            {
                throw ApiException.UnsupportedMediaType($"field {number} of {message.Name} is not known to LocalCluster's protobuf reader; send the object as JSON (application/json)");
            }
            var value = Value(reader, field);
            if (field.Repeated)
            {
                var list = obj[field.Name] as JsonArray ?? (JsonArray)(obj[field.Name] = new JsonArray());
                list.Add(value);
            }
            else if (field.Kind is Kind.StringMap or Kind.BytesMap)
            {
                var map = obj[field.Name] as JsonObject ?? (JsonObject)(obj[field.Name] = new JsonObject());
                var (key, entry) = ((string, JsonNode?))value!.AsObject().Select(p => (p.Key, p.Value?.DeepClone())).Single();
                map[key] = entry;
            }
            else if (!IsEmpty(value) || field.Pointer)
            {
                obj[field.Name] = value;
            }
        }
        return obj;
    }

    private static JsonNode? Value(Reader reader, Field field) => field.Kind switch
    {
        Kind.String => reader.String(),
        Kind.Bytes => Convert.ToBase64String(reader.Bytes()),
        Kind.Int => Number(reader.Varint()),
        Kind.Bool => reader.Varint() != 0,
        Kind.Message => Read(new Reader(reader.Bytes()), field.Type!),
        Kind.StringMap or Kind.BytesMap => MapEntry(new Reader(reader.Bytes()), field.Kind == Kind.BytesMap),
        Kind.Time => Time(new Reader(reader.Bytes())),
        Kind.IntOrString => IntOrString(new Reader(reader.Bytes())),
        _ => throw new InvalidOperationException($"unknown field kind {field.Kind}"),
    };

    private static JsonObject MapEntry(Reader reader, bool bytes)
    {
        string key = string.Empty;
        JsonNode? value = string.Empty;
        while (reader.More)
        {
            var (number, wire) = reader.Tag();
            if (number == 1) { key = reader.String(); }
            else if (number == 2) { value = bytes ? Convert.ToBase64String(reader.Bytes()) : reader.String(); }
            else { reader.Skip(wire); }
        }
        return new JsonObject { [key] = value };
    }

    /// <summary>meta.v1.Time: seconds and nanoseconds since the epoch; none is the zero time (no value).</summary>
    private static JsonNode? Time(Reader reader)
    {
        long seconds = 0;
        while (reader.More)
        {
            var (number, wire) = reader.Tag();
            if (number == 1) { seconds = reader.Varint(); }
            else { reader.Skip(wire); }
        }
        if (seconds == 0)
        {
            return null;
        }
        // RFC 3339, which the object's JSON holds, ends with year 9999 (and starts with year 1).
        if (seconds is < -62135596800 or > 253402300799)
        {
            throw ApiException.BadRequest($"a time of {seconds} seconds since the epoch is out of range: valid times are from 0001-01-01T00:00:00Z (-62135596800) to 9999-12-31T23:59:59Z (253402300799)");
        }
        return DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static JsonNode? IntOrString(Reader reader)
    {
        long type = 0, number = 0;
        var text = string.Empty;
        while (reader.More)
        {
            var (field, wire) = reader.Tag();
            switch (field)
            {
                case 1: type = reader.Varint(); break;
                case 2: number = reader.Varint(); break;
                case 3: text = reader.String(); break;
                default: reader.Skip(wire); break;
            }
        }
        return type == 1 ? (text.Length == 0 ? null : text) : (number == 0 ? null : Number(number));
    }

    /// <summary>A number as parsed JSON holds it, readable as any numeric type (the server reads most as int).</summary>
    private static JsonNode Number(long value) => JsonNode.Parse(value.ToString(System.Globalization.CultureInfo.InvariantCulture))!;

    private static bool IsEmpty(JsonNode? value) => value switch
    {
        null => true,
        JsonObject obj => obj.Count == 0,
        JsonValue text when text.TryGetValue<string>(out var s) => s.Length == 0,
        JsonValue number when number.GetValueKind() == System.Text.Json.JsonValueKind.Number => number.ToJsonString() == "0",
        JsonValue flag when flag.TryGetValue<bool>(out var b) => !b,
        _ => false,
    };

    /// <summary>The protobuf wire format: varints, and length-delimited fields; a malformed body is a 400.</summary>
    private sealed class Reader(byte[] buffer)
    {
        private int position;

        public bool More => position < buffer.Length;

        public (int Number, int Wire) Tag()
        {
            var tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public long Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (position >= buffer.Length)
                {
                    throw Malformed();
                }
                var b = buffer[position++];
                value |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0)
                {
                    return (long)value;
                }
            }
            throw Malformed();
        }

        public byte[] Bytes()
        {
            var length = Varint();
            if (length < 0 || length > buffer.Length - position)
            {
                throw Malformed();
            }
            var bytes = buffer.AsSpan(position, (int)length).ToArray();
            position += (int)length;
            return bytes;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case 2: Bytes(); break;
                case 5: Advance(4); break;
                default: throw Malformed();
            }
        }

        private void Advance(int count)
        {
            if (count > buffer.Length - position)
            {
                throw Malformed();
            }
            position += count;
        }

        private static ApiException Malformed() => ApiException.BadRequest("the protobuf body is malformed");
    }
}
