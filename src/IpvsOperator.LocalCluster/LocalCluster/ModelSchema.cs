using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s.Models;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The structural schema of a built-in type, read from KubernetesClient's model of it (generated
/// from upstream's OpenAPI, so its fields are upstream's): what <c>kubectl explain</c> reads from
/// the OpenAPI documents, and what unknown fields are judged by under <c>fieldValidation=Strict</c>.
/// With upstream's descriptions where KubernetesClient's documentation is on the machine
/// (<see cref="ModelDescriptions"/>); no formats beyond dates and bytes.
/// </summary>
internal static class ModelSchema
{
    private static readonly ConcurrentDictionary<Type, JsonObject> Cache = new();

    /// <summary>The schema of <paramref name="model"/>; a copy, the caller's to change.</summary>
    public static JsonObject For(Type model) => (JsonObject)Shared(model).DeepClone();

    /// <summary>The one schema of <paramref name="model"/> every caller reads: never to be changed.</summary>
    private static JsonObject Shared(Type model) => Cache.GetOrAdd(model, t => Of(t, []));

    /// <summary>
    /// Removes the fields of <paramref name="obj"/> that the built-in type <paramref name="model"/>
    /// does not have, as decoding into upstream's Go types does; their dotted paths ("spec.prots").
    /// </summary>
    public static List<string> PruneUnknownFields(JsonObject obj, Type model)
    {
        var unknown = new List<string>();
        Walk(obj, Shared(model), string.Empty, unknown);
        return unknown;
    }

    private static JsonObject Of(Type type, HashSet<Type> visiting)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new JsonObject { ["type"] = "string" };
        }
        if (type == typeof(bool))
        {
            return new JsonObject { ["type"] = "boolean" };
        }
        if (type == typeof(int) || type == typeof(long) || type == typeof(short))
        {
            return new JsonObject { ["type"] = "integer", ["format"] = type == typeof(long) ? "int64" : "int32" };
        }
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return new JsonObject { ["type"] = "number" };
        }
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return new JsonObject { ["type"] = "string", ["format"] = "date-time" };
        }
        if (type == typeof(byte[]))
        {
            return new JsonObject { ["type"] = "string", ["format"] = "byte" };
        }
        if (type == typeof(IntOrString) || type == typeof(ResourceQuantity))
        {
            return new JsonObject { ["x-kubernetes-int-or-string"] = true };
        }
        if (type == typeof(object) || type.Name is "V1JSON" || !visiting.Add(type))
        {
            // Free-form (FieldsV1, raw extensions) or a type that contains itself (JSONSchemaProps): anything goes.
            return new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true };
        }
        try
        {
            if (Interface(type, typeof(IDictionary<,>)) is { } dictionary)
            {
                return new JsonObject { ["type"] = "object", ["additionalProperties"] = Of(dictionary.GetGenericArguments()[1], visiting) };
            }
            if (Interface(type, typeof(IEnumerable<>)) is { } list)
            {
                return new JsonObject { ["type"] = "array", ["items"] = Of(list.GetGenericArguments()[0], visiting) };
            }
            var properties = new JsonObject();
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.GetCustomAttribute<JsonPropertyNameAttribute>() is { } name)
                {
                    var schema = Of(property.PropertyType, visiting);
                    // A field's own description says more than its type's (as upstream's OpenAPI does).
                    if (ModelDescriptions.Of(property) is { } described)
                    {
                        schema["description"] = described;
                    }
                    properties[name.Name] = schema;
                }
            }
            var structure = new JsonObject { ["type"] = "object", ["properties"] = properties };
            if (ModelDescriptions.Of(type) is { } description)
            {
                structure["description"] = description;
            }
            return structure;
        }
        finally
        {
            visiting.Remove(type);
        }
    }

    private static void Walk(JsonNode? value, JsonObject schema, string path, List<string> unknown)
    {
        if (schema["x-kubernetes-preserve-unknown-fields"] is not null)
        {
            return;
        }
        switch (value)
        {
            case JsonObject obj when schema["properties"] is JsonObject properties:
                List<string>? dropped = null;
                foreach (var (name, child) in obj)
                {
                    var childPath = path.Length == 0 ? name : $"{path}.{name}";
                    if (properties[name] is JsonObject childSchema)
                    {
                        Walk(child, childSchema, childPath, unknown);
                    }
                    else
                    {
                        unknown.Add(childPath);
                        (dropped ??= []).Add(name);
                    }
                }
                foreach (var name in dropped ?? [])
                {
                    obj.Remove(name);
                }
                break;
            case JsonObject map when schema["additionalProperties"] is JsonObject values:
                foreach (var (name, child) in map)
                {
                    Walk(child, values, path.Length == 0 ? name : $"{path}.{name}", unknown);
                }
                break;
            case JsonArray list when schema["items"] is JsonObject items:
                for (var i = 0; i < list.Count; i++)
                {
                    Walk(list[i], items, $"{path}[{i}]", unknown);
                }
                break;
        }
    }

    private static Type? Interface(Type type, Type generic) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == generic ? type
        : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == generic);
}
