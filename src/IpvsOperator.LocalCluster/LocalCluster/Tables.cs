using System.Globalization;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// Server-side printing (<c>meta.k8s.io/v1 Table</c>), which <c>kubectl get</c> asks for: a Name
/// column, the type's columns (a CRD's additionalPrinterColumns), dates shown as ages.
/// </summary>
internal static class Tables
{
    public static JsonObject Convert(ApiResource resource, IEnumerable<JsonObject> objects, string resourceVersion, string? includeObject, DateTimeOffset now)
    {
        var columns = new JsonArray(new JsonObject
        {
            ["name"] = "Name",
            ["type"] = "string",
            ["format"] = "name",
            ["description"] = "Name must be unique within a namespace.",
            ["priority"] = 0,
        });
        foreach (var column in resource.Columns)
        {
            columns.Add(new JsonObject
            {
                ["name"] = column.Name,
                ["type"] = column.Type == "date" ? "string" : column.Type,
                ["format"] = string.Empty,
                ["description"] = column.Description ?? string.Empty,
                ["priority"] = column.Priority,
            });
        }
        var rows = new JsonArray();
        foreach (var obj in objects)
        {
            var cells = new JsonArray(ObjectStorage.NameOf(obj));
            foreach (var column in resource.Columns)
            {
                cells.Add(Cell(obj, column, now));
            }
            var row = new JsonObject { ["cells"] = cells };
            if (includeObject != "None")
            {
                row["object"] = includeObject == "Object" ? obj.DeepClone() : new JsonObject
                {
                    ["kind"] = "PartialObjectMetadata",
                    ["apiVersion"] = "meta.k8s.io/v1",
                    ["metadata"] = obj["metadata"]?.DeepClone(),
                };
            }
            rows.Add(row);
        }
        return new JsonObject
        {
            ["kind"] = "Table",
            ["apiVersion"] = "meta.k8s.io/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion },
            ["columnDefinitions"] = columns,
            ["rows"] = rows,
        };
    }

    private static JsonNode? Cell(JsonObject obj, TableColumn column, DateTimeOffset now)
    {
        if (column.Compute is { } compute)
        {
            return compute(obj, now);
        }
        var values = JsonPath.Select(obj, column.JsonPath).ToList();
        if (values.Count == 0)
        {
            return column.Type is "string" or "date" ? "<none>" : null;
        }
        if (column.Type == "date" && values[0] is JsonValue date && DateTimeOffset.TryParse(date.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return Age(now - at);
        }
        if (values.Count == 1 && values[0] is JsonValue single)
        {
            return single.DeepClone();
        }
        return JsonPath.Text(obj, column.JsonPath);
    }

    /// <summary>Kubernetes' human-readable duration: 45s, 3m20s, 12m, 5h, 3d.</summary>
    public static string Age(TimeSpan age)
    {
        var seconds = Math.Max(0, (long)age.TotalSeconds);
        return seconds switch
        {
            < 120 => $"{seconds}s",
            < 600 => seconds % 60 == 0 ? $"{seconds / 60}m" : $"{seconds / 60}m{seconds % 60}s",
            < 3 * 3600 => $"{seconds / 60}m",
            < 8 * 3600 => (seconds / 60) % 60 == 0 ? $"{seconds / 3600}h" : $"{seconds / 3600}h{(seconds / 60) % 60}m",
            < 48 * 3600 => $"{seconds / 3600}h",
            _ => $"{seconds / 86400}d",
        };
    }

    /// <summary>EXTERNAL-IP of a Service as kubectl prints it: the ingress addresses, &lt;pending&gt; for a LoadBalancer without one, &lt;none&gt; otherwise.</summary>
    public static JsonNode? ServiceExternalIp(JsonObject service, DateTimeOffset now)
    {
        var ingress = (service["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>()
            .Select(i => i["ip"]?.GetValue<string>() ?? i["hostname"]?.GetValue<string>()).OfType<string>().ToList() ?? [];
        var external = (service["spec"]?["externalIPs"] as JsonArray)?.Select(i => i?.GetValue<string>()).OfType<string>() ?? [];
        var all = ingress.Concat(external).ToList();
        return all.Count > 0 ? string.Join(",", all)
            : service["spec"]?["type"]?.GetValue<string>() == "LoadBalancer" ? "<pending>"
            : "<none>";
    }

    /// <summary>PORT(S) of a Service as kubectl prints it: 80:30080/TCP,443/TCP.</summary>
    public static JsonNode? ServicePorts(JsonObject service, DateTimeOffset now)
    {
        var ports = (service["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>().Select(p =>
            $"{p["port"]}{(p["nodePort"] is { } nodePort ? $":{nodePort}" : string.Empty)}/{p["protocol"]?.GetValue<string>() ?? "TCP"}").ToList() ?? [];
        return ports.Count > 0 ? string.Join(",", ports) : "<none>";
    }

    /// <summary>LAST SEEN of an Event: the age of its last timestamp (or event time, or creation).</summary>
    public static JsonNode? EventLastSeen(JsonObject evt, DateTimeOffset now)
    {
        var text = evt["lastTimestamp"]?.GetValue<string>() ?? evt["eventTime"]?.GetValue<string>() ?? evt["metadata"]?["creationTimestamp"]?.GetValue<string>();
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? Age(now - at) : "<unknown>";
    }
}
