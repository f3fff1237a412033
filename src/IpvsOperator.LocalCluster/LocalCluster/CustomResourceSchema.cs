using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A CRD's <c>openAPIV3Schema</c> applied the way the API server applies it: unknown fields pruned
/// (or refused under <c>fieldValidation=Strict</c>), defaults filled in, then the object validated.
/// Validation is JsonSchema.Net's; pruning and defaulting walk the structural schema, as the
/// API server's own code does.
/// </summary>
public sealed class CustomResourceSchema
{
    private static readonly HashSet<string> ServerFields = ["apiVersion", "kind", "metadata"];
    private readonly JsonObject structural;
    private readonly JsonSchema validator;
    private readonly CustomResourceRules? rules;

    /// <summary>Throws <see cref="CelRuleException"/> for a validation rule that cannot be compiled.</summary>
    public CustomResourceSchema(JsonObject openApiV3Schema)
    {
        structural = (JsonObject)openApiV3Schema.DeepClone();
        rules = CustomResourceRules.Compile(structural);
        var converted = ToJsonSchema(structural);
        converted["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        validator = JsonSchema.FromText(converted.ToJsonString());
    }

    public JsonObject Structural => structural;

    /// <summary>
    /// The lists that server-side apply merges, by their dotted path: <c>x-kubernetes-list-type:
    /// map</c> with its keys, <c>set</c> with none. Every other list of a custom resource is atomic.
    /// </summary>
    public static IReadOnlyDictionary<string, string[]> ListTypes(JsonObject openApiV3Schema)
    {
        var found = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Walk(JsonObject schema, string path)
        {
            if (schema["properties"] is JsonObject properties)
            {
                foreach (var (name, property) in properties)
                {
                    if (property is JsonObject child)
                    {
                        Walk(child, path.Length == 0 ? name : $"{path}.{name}");
                    }
                }
            }
            if (schema["items"] is JsonObject items)
            {
                switch (schema["x-kubernetes-list-type"]?.GetValue<string>())
                {
                    case "set":
                        found[path] = [];
                        break;
                    case "map":
                        found[path] = [.. (schema["x-kubernetes-list-map-keys"] as JsonArray ?? []).Select(k => k!.GetValue<string>())];
                        break;
                }
                Walk(items, path);
            }
        }
        Walk(openApiV3Schema, string.Empty);
        return found;
    }

    /// <summary>
    /// Prunes, defaults and validates <paramref name="obj"/> in place, then evaluates the schema's
    /// validation rules (transition rules against <paramref name="old"/>, on an update). Throws the API server's errors.
    /// </summary>
    public void Apply(ApiResource resource, JsonObject obj, WriteOptions options, JsonObject? old = null)
    {
        var unknown = new List<string>();
        Prune(obj, structural, string.Empty, unknown, topLevel: true);
        options.ReportUnknownFields(unknown);
        ApplyDefaults(obj, structural);
        var errors = Validate(obj, out var mistyped);
        if (rules is not null)
        {
            // As upstream: a value of the wrong type would fail the rules for the wrong reason, so they wait for it.
            errors.AddRange(mistyped
                ? [("<nil>", "Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation")]
                : rules.Validate(obj, old));
        }
        if (errors.Count > 0)
        {
            throw ApiException.Invalid(resource, ObjectStorage.NameOf(obj), errors);
        }
    }

    private List<(string Field, string Message)> Validate(JsonObject obj, out bool mistyped)
    {
        mistyped = false;
        var instance = (JsonObject)obj.DeepClone();
        instance.Remove("metadata");
        using var document = JsonDocument.Parse(instance.ToJsonString());
        // Formats are checked, as kube-apiserver checks those it knows (a "lastTransitionTime: yesterday" is refused).
        var result = validator.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        var errors = new List<(string, string)>();
        Duplicates(instance, structural, string.Empty, errors);
        if (result.IsValid)
        {
            return errors;
        }
        foreach (var detail in result.Details ?? [])
        {
            if (detail.Errors is not { Count: > 0 } messages)
            {
                continue;
            }
            var field = FieldPath(detail.InstanceLocation.ToString());
            var value = Resolve(instance, detail.InstanceLocation.ToString());
            foreach (var (keyword, message) in messages)
            {
                mistyped |= keyword == "type";
                if (keyword == "required")
                {
                    var schemaAt = Resolve(structural, SchemaPointer(detail.InstanceLocation.ToString())) as JsonObject;
                    var missing = (schemaAt?["required"] as JsonArray)?.Select(r => r!.GetValue<string>())
                        .Where(r => (value as JsonObject)?.ContainsKey(r) != true) ?? [];
                    errors.AddRange(missing.Select(m => (Join(field, m), "Required value")));
                    continue;
                }
                errors.Add((field.Length == 0 ? "<root>" : field, $"Invalid value: {value?.ToJsonString() ?? "null"}: {message}"));
            }
        }
        return errors.Count > 0 ? errors : [("<root>", "the object does not match the schema")];
    }

    /// <summary>
    /// Lists whose items must be unique, as upstream checks them: <c>x-kubernetes-list-type: set</c>
    /// by value, <c>map</c> by the <c>x-kubernetes-list-map-keys</c>; each repeat is a "Duplicate value".
    /// </summary>
    private static void Duplicates(JsonNode? value, JsonObject schema, string field, List<(string, string)> errors)
    {
        switch (value)
        {
            case JsonObject obj when schema["properties"] is JsonObject properties:
                foreach (var (name, child) in obj)
                {
                    if (properties[name] is JsonObject childSchema)
                    {
                        Duplicates(child, childSchema, Join(field, name), errors);
                    }
                }
                break;
            case JsonArray list when schema["items"] is JsonObject items:
                var keys = (schema["x-kubernetes-list-map-keys"] as JsonArray)?.Select(k => k!.GetValue<string>()).ToList();
                Func<JsonNode?, string?>? identity = schema["x-kubernetes-list-type"]?.GetValue<string>() switch
                {
                    "set" => item => item?.ToJsonString(),
                    "map" when keys is { Count: > 0 } => item => new JsonObject(keys.Select(k => KeyValuePair.Create(k, item?[k]?.DeepClone()))).ToJsonString(),
                    _ => null,
                };
                var seen = new HashSet<string?>();
                for (var i = 0; i < list.Count; i++)
                {
                    if (identity is not null && !seen.Add(identity(list[i])))
                    {
                        errors.Add(($"{field}[{i}]", $"Duplicate value: {identity(list[i])}"));
                    }
                    Duplicates(list[i], items, $"{field}[{i}]", errors);
                }
                break;
        }
    }

    private static string Join(string field, string name) => field.Length == 0 ? name : $"{field}.{name}";

    /// <summary>"/spec/addresses/0" to "spec.addresses[0]".</summary>
    private static string FieldPath(string pointer) =>
        string.Concat(pointer.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select((token, index) => int.TryParse(token, out _) ? $"[{token}]" : index == 0 ? token : "." + token));

    private static JsonNode? Resolve(JsonNode? node, string pointer)
    {
        foreach (var token in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node switch
            {
                JsonObject o => o[token],
                JsonArray a when int.TryParse(token, out var i) && i < a.Count => a[i],
                _ => null,
            };
        }
        return node;
    }

    /// <summary>The schema pointer of an instance pointer: "/spec/x/0" to "/properties/spec/properties/x/items".</summary>
    private static string SchemaPointer(string instancePointer) =>
        string.Concat(instancePointer.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(token => int.TryParse(token, out _) ? "/items" : $"/properties/{token}"));

    private static void Prune(JsonNode? node, JsonObject schema, string path, List<string> unknown, bool topLevel = false)
    {
        if (schema["x-kubernetes-preserve-unknown-fields"]?.GetValue<bool>() == true)
        {
            return;
        }
        switch (node)
        {
            case JsonObject obj when schema["properties"] is JsonObject properties:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (topLevel && ServerFields.Contains(key))
                    {
                        continue;
                    }
                    if (properties[key] is JsonObject child)
                    {
                        Prune(obj[key], child, Join(path, key), unknown);
                    }
                    else
                    {
                        obj.Remove(key);
                        unknown.Add(Join(path, key));
                    }
                }
                break;
            case JsonObject obj when schema["additionalProperties"] is JsonObject values:
                foreach (var (key, value) in obj.ToList())
                {
                    Prune(value, values, Join(path, key), unknown);
                }
                break;
            case JsonArray array when schema["items"] is JsonObject items:
                for (var i = 0; i < array.Count; i++)
                {
                    Prune(array[i], items, $"{path}[{i}]", unknown);
                }
                break;
        }
    }

    private static void ApplyDefaults(JsonNode? node, JsonObject schema)
    {
        switch (node)
        {
            case JsonObject obj when schema["properties"] is JsonObject properties:
                foreach (var (key, childSchema) in properties)
                {
                    if (childSchema is not JsonObject child)
                    {
                        continue;
                    }
                    if (!obj.ContainsKey(key) && child["default"] is { } value)
                    {
                        obj[key] = value.DeepClone();
                    }
                    ApplyDefaults(obj[key], child);
                }
                break;
            case JsonArray array when schema["items"] is JsonObject items:
                foreach (var item in array)
                {
                    ApplyDefaults(item, items);
                }
                break;
        }
    }

    /// <summary>OpenAPI v3 (the Kubernetes subset) to JSON Schema 2020-12: nullable and int-or-string become types.</summary>
    private static JsonObject ToJsonSchema(JsonObject schema)
    {
        var result = new JsonObject();
        foreach (var (key, value) in schema)
        {
            switch (key)
            {
                case "properties" when value is JsonObject properties:
                    result[key] = new JsonObject(properties.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)ToJsonSchema((JsonObject)p.Value!))));
                    break;
                case "items" or "additionalProperties" when value is JsonObject child:
                    result[key] = ToJsonSchema(child);
                    break;
                case "format" when value?.GetValue<string>() is "date-time" or "date" or "uuid" or "ipv4" or "ipv6" or "hostname" or "email" or "uri":
                    // The formats kube-apiserver and JSON Schema both know; Kubernetes' own (int32, byte, cidr, ...) are left to the types.
                    result[key] = value.DeepClone();
                    break;
                case "nullable" or "x-kubernetes-int-or-string" or "x-kubernetes-preserve-unknown-fields" or "x-kubernetes-embedded-resource"
                    or "x-kubernetes-list-type" or "x-kubernetes-list-map-keys" or "x-kubernetes-map-type" or "x-kubernetes-validations" or "format":
                    break;
                default:
                    result[key] = value?.DeepClone();
                    break;
            }
        }
        if (schema["x-kubernetes-int-or-string"]?.GetValue<bool>() == true)
        {
            result["type"] = new JsonArray("integer", "string");
        }
        if (schema["nullable"]?.GetValue<bool>() == true && result["type"] is JsonValue type)
        {
            result["type"] = new JsonArray(type.GetValue<string>(), "null");
        }
        return result;
    }
}
