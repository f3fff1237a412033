using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// kube-apiserver's validation of the built-in types the operator reads or writes (Service spec and
/// status, EndpointSlice, Lease, Event, Namespace, Secret, ConfigMap), with its field paths and
/// messages, so that an object the real server refuses is refused here too (422, one cause per
/// field). The rules are upstream's (pkg/apis/core/validation, apimachinery's metav1 validation);
/// only what these types need, not all of it.
/// </summary>
internal static partial class BuiltInValidation
{
    private const int MaxConditionMessage = 32768;
    private const int MaxDataBytes = 1024 * 1024;

    [GeneratedRegex("^[a-z]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1035Label();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")]
    private static partial Regex ConditionReason();

    [GeneratedRegex("^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")]
    private static partial Regex QualifiedNamePart();

    [GeneratedRegex("^[-._a-zA-Z0-9]+$")]
    private static partial Regex ConfigKey();

    /// <summary>The causes to refuse <paramref name="obj"/> for (empty: valid); <paramref name="old"/> is the stored object on an update.</summary>
    public static IReadOnlyList<(string Field, string Message)> Validate(ApiResource resource, JsonObject obj, JsonObject? old)
    {
        var causes = new List<(string, string)>();
        var name = ObjectStorage.NameOf(obj);
        OwnerReferences(causes, obj);
        if (resource.IsCustom)
        {
            return causes;
        }
        switch ((resource.Group, resource.Kind))
        {
            case ("", "Service"):
                if (old is null)
                {
                    Label(causes, "metadata.name", name, Dns1035Label(), "a DNS-1035 label", "must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
                }
                Service(causes, obj, old);
                break;
            case ("", "Namespace"):
                if (old is null)
                {
                    Label(causes, "metadata.name", name, Dns1123Label(), "a lowercase RFC 1123 label", "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
                }
                break;
            case ("coordination.k8s.io", "Lease"):
                Lease(causes, obj);
                break;
            case ("discovery.k8s.io", "EndpointSlice"):
                EndpointSlice(causes, obj);
                break;
            case ("", "Event"):
                Event(causes, obj);
                break;
            case ("", "Secret") or ("", "ConfigMap"):
                Data(causes, obj);
                break;
        }
        return causes;
    }

    /// <summary>ObjectMeta's owner references, for every type: each names its owner fully, and at most one is the controller.</summary>
    private static void OwnerReferences(List<(string, string)> causes, JsonObject obj)
    {
        if (obj["metadata"]?["ownerReferences"] is not JsonArray references)
        {
            return;
        }
        var controllers = 0;
        for (var i = 0; i < references.Count; i++)
        {
            var field = $"metadata.ownerReferences[{i}]";
            if (references[i] is not JsonObject reference)
            {
                causes.Add((field, "Invalid value: must be an object"));
                continue;
            }
            foreach (var required in new[] { "apiVersion", "kind", "name", "uid" })
            {
                if (reference[required] is not JsonValue value || !value.TryGetValue<string>(out var text) || text.Length == 0)
                {
                    causes.Add(($"{field}.{required}", $"Invalid value: \"\": {required} must not be empty"));
                }
            }
            if (reference["controller"] is JsonValue controller && controller.TryGetValue<bool>(out var isController) && isController)
            {
                controllers++;
            }
        }
        if (controllers > 1)
        {
            causes.Add(("metadata.ownerReferences", "Invalid value: Only one reference can have Controller set to true"));
        }
    }

    private static void Label(List<(string, string)> causes, string field, string value, Regex pattern, string what, string rule)
    {
        if (value.Length > 63)
        {
            causes.Add((field, $"Invalid value: \"{value}\": must be no more than 63 characters"));
        }
        else if (!pattern.IsMatch(value))
        {
            causes.Add((field, $"Invalid value: \"{value}\": {what} {rule}"));
        }
    }

    private static void Service(List<(string, string)> causes, JsonObject service, JsonObject? old)
    {
        var spec = service["spec"] as JsonObject ?? [];
        var type = Text(spec["type"]) ?? "ClusterIP";
        if (type is not ("ClusterIP" or "NodePort" or "LoadBalancer" or "ExternalName"))
        {
            causes.Add(("spec.type", $"Unsupported value: \"{type}\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""));
        }
        var headless = Text(spec["clusterIP"]) == "None";
        var ports = (spec["ports"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        if (ports.Count == 0 && type != "ExternalName" && !headless)
        {
            causes.Add(("spec.ports", "Required value"));
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<(long, string)>();
        for (var i = 0; i < ports.Count; i++)
        {
            var port = ports[i];
            var path = $"spec.ports[{i}]";
            var portName = Text(port["name"]) ?? string.Empty;
            if (ports.Count > 1 && portName.Length == 0)
            {
                causes.Add(($"{path}.name", "Required value"));
            }
            else if (portName.Length > 0 && !names.Add(portName))
            {
                causes.Add(($"{path}.name", $"Duplicate value: \"{portName}\""));
            }
            var number = Number(port["port"]);
            if (number is not (>= 1 and <= 65535))
            {
                causes.Add(($"{path}.port", $"Invalid value: {Show(port["port"])}: must be between 1 and 65535, inclusive"));
            }
            var protocol = Text(port["protocol"]) ?? "TCP";
            if (protocol is not ("TCP" or "UDP" or "SCTP"))
            {
                causes.Add(($"{path}.protocol", $"Unsupported value: \"{protocol}\": supported values: \"SCTP\", \"TCP\", \"UDP\""));
            }
            if (number is { } n && !seen.Add((n, protocol)))
            {
                causes.Add((path, $"Duplicate value: {{\"port\":{n},\"protocol\":\"{protocol}\"}}"));
            }
            if (port["nodePort"] is { } nodePort && Number(nodePort) is not (>= 1 and <= 65535))
            {
                causes.Add(($"{path}.nodePort", $"Invalid value: {Show(nodePort)}: must be between 1 and 65535, inclusive"));
            }
        }
        if (old is not null)
        {
            var oldSpec = old["spec"] as JsonObject ?? [];
            var oldClusterIp = Text(oldSpec["clusterIP"]);
            if (!string.IsNullOrEmpty(oldClusterIp) && type != "ExternalName" && Text(oldSpec["type"]) != "ExternalName" && Text(spec["clusterIP"]) is { } clusterIp && clusterIp != oldClusterIp)
            {
                causes.Add(("spec.clusterIPs[0]", $"Invalid value: \"{clusterIp}\": may not change once set"));
            }
            if (type == "LoadBalancer" && Text(oldSpec["type"]) == "LoadBalancer" && Text(spec["loadBalancerClass"]) != Text(oldSpec["loadBalancerClass"]))
            {
                causes.Add(("spec.loadBalancerClass", $"Invalid value: {Quoted(spec["loadBalancerClass"])}: may not change once set"));
            }
        }
        if (service["status"] is JsonObject status)
        {
            var ingress = (status["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
            for (var i = 0; i < ingress.Count; i++)
            {
                var path = $"status.loadBalancer.ingress[{i}]";
                var ip = Text(ingress[i]["ip"]);
                if (ip is { Length: > 0 } && !StrictIp(ip))
                {
                    causes.Add(($"{path}.ip", $"Invalid value: \"{ip}\": must be a valid IP address"));
                }
                var ipMode = Text(ingress[i]["ipMode"]);
                if (ipMode is not null && string.IsNullOrEmpty(ip))
                {
                    causes.Add(($"{path}.ipMode", "Forbidden: may not be specified when `ip` is not set"));
                }
                else if (ipMode is not null && ipMode is not ("VIP" or "Proxy"))
                {
                    causes.Add(($"{path}.ipMode", $"Unsupported value: \"{ipMode}\": supported values: \"Proxy\", \"VIP\""));
                }
            }
            Conditions(causes, status["conditions"] as JsonArray, "status.conditions");
        }
    }

    /// <summary>metav1.Condition: type a qualified name, status True/False/Unknown, reason of upstream's form, a transition time.</summary>
    private static void Conditions(List<(string, string)> causes, JsonArray? conditions, string field)
    {
        var types = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (conditions?.Count ?? 0); i++)
        {
            var path = $"{field}[{i}]";
            if (conditions![i] is not JsonObject condition)
            {
                causes.Add((path, "Invalid value: must be an object"));
                continue;
            }
            var type = Text(condition["type"]) ?? string.Empty;
            if (type.Length == 0)
            {
                causes.Add(($"{path}.type", "Required value"));
            }
            else if (!QualifiedName(type))
            {
                causes.Add(($"{path}.type", $"Invalid value: \"{type}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"));
            }
            else if (!types.Add(type))
            {
                causes.Add(($"{path}.type", $"Duplicate value: \"{type}\""));
            }
            var status = Text(condition["status"]);
            if (status is not ("True" or "False" or "Unknown"))
            {
                causes.Add(($"{path}.status", status is null ? "Required value" : $"Unsupported value: \"{status}\": supported values: \"False\", \"True\", \"Unknown\""));
            }
            // Go's zero time is "not set"; clients that cannot leave it out send the year 1.
            if (Text(condition["lastTransitionTime"]) is not { } time || !DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) || at.Year <= 1)
            {
                causes.Add(($"{path}.lastTransitionTime", "Required value: must be set"));
            }
            var reason = Text(condition["reason"]) ?? string.Empty;
            if (reason.Length == 0)
            {
                causes.Add(($"{path}.reason", "Required value"));
            }
            else if (reason.Length > 1024 || !ConditionReason().IsMatch(reason))
            {
                causes.Add(($"{path}.reason", $"Invalid value: \"{reason}\": a condition reason must start with alphabetic character, optionally followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric character or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName',  or 'ReasonA,ReasonB',  or 'ReasonA:ReasonB', regex used for validation is '[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?')"));
            }
            if ((Text(condition["message"])?.Length ?? 0) > MaxConditionMessage)
            {
                causes.Add(($"{path}.message", $"Too long: may not be more than {MaxConditionMessage} bytes"));
            }
        }
    }

    private static void Lease(List<(string, string)> causes, JsonObject lease)
    {
        var spec = lease["spec"] as JsonObject ?? [];
        if (spec["leaseDurationSeconds"] is { } duration && Number(duration) is not > 0)
        {
            causes.Add(("spec.leaseDurationSeconds", $"Invalid value: {Show(duration)}: must be greater than 0"));
        }
        if (spec["leaseTransitions"] is { } transitions && Number(transitions) is not >= 0)
        {
            causes.Add(("spec.leaseTransitions", $"Invalid value: {Show(transitions)}: must be greater than or equal to 0"));
        }
    }

    private static void EndpointSlice(List<(string, string)> causes, JsonObject slice)
    {
        var addressType = Text(slice["addressType"]);
        if (addressType is null)
        {
            causes.Add(("addressType", "Required value"));
        }
        else if (addressType is not ("IPv4" or "IPv6" or "FQDN"))
        {
            causes.Add(("addressType", $"Unsupported value: \"{addressType}\": supported values: \"FQDN\", \"IPv4\", \"IPv6\""));
        }
        var endpoints = (slice["endpoints"] as JsonArray)?.ToList() ?? [];
        for (var i = 0; i < endpoints.Count; i++)
        {
            var addresses = (endpoints[i]?["addresses"] as JsonArray)?.Select(Text).ToList() ?? [];
            if (addresses.Count is 0 or > 100)
            {
                causes.Add(($"endpoints[{i}].addresses", addresses.Count == 0 ? "Required value: must contain at least 1 address" : "Too many: must have at most 100 items"));
            }
            for (var j = 0; j < addresses.Count; j++)
            {
                var family = addressType switch { "IPv4" => System.Net.Sockets.AddressFamily.InterNetwork, "IPv6" => System.Net.Sockets.AddressFamily.InterNetworkV6, _ => (System.Net.Sockets.AddressFamily?)null };
                if (family is not null && (addresses[j] is not { } text || !StrictIp(text) || IPAddress.Parse(text).AddressFamily != family))
                {
                    causes.Add(($"endpoints[{i}].addresses[{j}]", $"Invalid value: \"{addresses[j]}\": must be a valid {addressType} address"));
                }
            }
        }
        var ports = (slice["ports"] as JsonArray)?.ToList() ?? [];
        for (var i = 0; i < ports.Count; i++)
        {
            if (ports[i]?["port"] is { } port && Number(port) is not (>= 1 and <= 65535))
            {
                causes.Add(($"ports[{i}].port", $"Invalid value: {Show(port)}: must be between 1 and 65535, inclusive"));
            }
            var protocol = Text(ports[i]?["protocol"]) ?? "TCP";
            if (protocol is not ("TCP" or "UDP" or "SCTP"))
            {
                causes.Add(($"ports[{i}].protocol", $"Unsupported value: \"{protocol}\": supported values: \"SCTP\", \"TCP\", \"UDP\""));
            }
        }
    }

    private static void Event(List<(string, string)> causes, JsonObject evt)
    {
        var ns = ObjectStorage.NamespaceOf(evt);
        var involved = Text(evt["involvedObject"]?["namespace"]) ?? string.Empty;
        // An Event about a cluster-scoped object may live in any namespace (kubectl looks in default).
        if (involved.Length > 0 && involved != ns)
        {
            causes.Add(("involvedObject.namespace", $"Invalid value: \"{involved}\": does not match event.namespace"));
        }
    }

    private static void Data(List<(string, string)> causes, JsonObject obj)
    {
        var total = 0L;
        foreach (var field in new[] { "data", "stringData", "binaryData" })
        {
            foreach (var (key, value) in obj[field] as JsonObject ?? [])
            {
                if (key.Length > 253 || !ConfigKey().IsMatch(key))
                {
                    causes.Add(($"{field}[{key}]", $"Invalid value: \"{key}\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
                }
                total += key.Length + (Text(value)?.Length ?? 0);
            }
        }
        if (total > MaxDataBytes * 4 / 3 + 4)
        {
            causes.Add(("data", $"Too long: may not be more than {MaxDataBytes} bytes"));
        }
    }

    private static bool QualifiedName(string value)
    {
        var parts = value.Split('/');
        return parts.Length switch
        {
            1 => parts[0].Length <= 63 && QualifiedNamePart().IsMatch(parts[0]),
            2 => parts[0].Length is > 0 and <= 253 && parts[1].Length <= 63 && QualifiedNamePart().IsMatch(parts[1]),
            _ => false,
        };
    }

    /// <summary>As upstream's strict parsing since 1.33 warns and the operator refuses: canonical decimal forms only.</summary>
    private static bool StrictIp(string text) =>
        IPAddress.TryParse(text, out var address) && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? !text.Contains('%', StringComparison.Ordinal)
            : text.Split('.') is { Length: 4 } octets && octets.All(o => o.Length is > 0 and <= 3 && o.All(char.IsAsciiDigit) && (o.Length == 1 || o[0] != '0')));

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    // A value parsed from a request holds a JsonElement; one the server set itself holds an int or a long.
    private static long? Number(JsonNode? node) =>
        node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number ? null
        : value.TryGetValue<long>(out var number) ? number
        : value.TryGetValue<int>(out var small) ? small
        : value.TryGetValue<double>(out var real) && real == Math.Floor(real) && Math.Abs(real) < 1e15 ? (long)real
        : null;

    private static string Show(JsonNode? node) => node?.ToJsonString() ?? "null";

    private static string Quoted(JsonNode? node) => Text(node) is { } text ? $"\"{text}\"" : "\"null\"";
}
