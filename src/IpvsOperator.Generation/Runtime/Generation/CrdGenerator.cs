using System.Collections;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using IpvsOperator.Runtime.Entities;
using k8s.Models;

namespace IpvsOperator.Runtime.Generation;

/// <summary>
/// Builds a CustomResourceDefinition from an entity class and its attributes, with a structural
/// <c>openAPIV3Schema</c>: every field typed, as Kubernetes requires for defaulting and pruning.
/// </summary>
internal static class CrdGenerator
{
    private const int MaxDepth = 12;

    /// <summary>
    /// Rules of Kubernetes' own types that their C# models do not carry, copied from the upstream
    /// API definitions (metav1.Condition, metav1.LabelSelectorRequirement).
    /// </summary>
    private static readonly Dictionary<Type, (string[] Required, Dictionary<string, string[]> Enums)> KnownTypeRules = new()
    {
        [typeof(V1Condition)] = (["lastTransitionTime", "message", "reason", "status", "type"], new() { ["status"] = ["True", "False", "Unknown"] }),
        [typeof(V1LabelSelectorRequirement)] = (["key", "operator"], new() { ["operator"] = ["In", "NotIn", "Exists", "DoesNotExist"] }),
    };

    public static V1CustomResourceDefinition Generate(Type entityType)
    {
        var entity = entityType.GetCustomAttribute<KubernetesEntityAttribute>()
            ?? throw new ArgumentException($"{entityType.Name} has no [KubernetesEntity] attribute", nameof(entityType));
        var plural = entity.PluralName ?? throw new ArgumentException($"{entityType.Name} names no PluralName", nameof(entityType));
        var scope = entityType.GetCustomAttribute<EntityScopeAttribute>()?.Scope ?? EntityScope.Namespaced;
        var hasStatus = entityType.GetProperty("Status") is not null;

        // apiVersion, kind and metadata are the API server's; the schema only types them.
        var schema = ObjectSchema(entityType, depth: 0);
        schema.Properties["metadata"] = new V1JSONSchemaProps { Type = "object" };
        DescribeTopLevel(schema, entity.Kind);

        return new V1CustomResourceDefinition
        {
            ApiVersion = "apiextensions.k8s.io/v1",
            Kind = "CustomResourceDefinition",
            Metadata = new V1ObjectMeta { Name = $"{plural}.{entity.Group}" },
            Spec = new V1CustomResourceDefinitionSpec
            {
                Group = entity.Group,
                Scope = scope.ToString(),
                Names = new V1CustomResourceDefinitionNames
                {
                    Kind = entity.Kind,
                    ListKind = entity.Kind + "List",
                    Plural = plural,
                    Singular = entity.Kind.ToLowerInvariant(),
                    ShortNames = entityType.GetCustomAttribute<KubernetesEntityShortNamesAttribute>()?.ShortNames.ToList(),
                },
                Versions =
                [
                    new V1CustomResourceDefinitionVersion
                    {
                        Name = entity.ApiVersion,
                        Served = true,
                        Storage = true,
                        Schema = new V1CustomResourceValidation { OpenAPIV3Schema = schema },
                        Subresources = hasStatus ? new V1CustomResourceSubresources { Status = new Dictionary<string, object>() } : null,
                        AdditionalPrinterColumns = PrinterColumns(entityType),
                    },
                ],
            },
        };
    }

    /// <summary>
    /// Upstream's words for the fields every object has (as controller-gen writes them), so that
    /// <c>kubectl explain</c> describes them rather than printing &lt;no description&gt;; spec and
    /// status keep their own class's description when it has one.
    /// </summary>
    private static void DescribeTopLevel(V1JSONSchemaProps schema, string kind)
    {
        var described = new Dictionary<string, string>
        {
            ["apiVersion"] = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
            ["kind"] = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            ["metadata"] = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
            ["spec"] = $"The desired state of this {kind}.",
            ["status"] = $"The observed state of this {kind}, written by IpvsOperator.",
        };
        foreach (var (name, text) in described)
        {
            if (schema.Properties.TryGetValue(name, out var property))
            {
                property.Description ??= text;
            }
        }
    }

    private static List<V1CustomResourceColumnDefinition>? PrinterColumns(Type entityType)
    {
        var columns = entityType.GetCustomAttributes<PrinterColumnAttribute>().Select(c => new V1CustomResourceColumnDefinition
        {
            Name = c.Name,
            JsonPath = c.JsonPath,
            Type = c.Type,
            Description = c.Description,
            Priority = c.Priority == 0 ? null : c.Priority,
        }).ToList();
        return columns.Count > 0 ? columns : null;
    }

    private static V1JSONSchemaProps ObjectSchema(Type type, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidOperationException($"{type.Name} nests deeper than {MaxDepth} levels; is it recursive?");
        }
        // Sorted, so that the output does not depend on reflection order.
        var properties = new SortedDictionary<string, V1JSONSchemaProps>(StringComparer.Ordinal);
        var required = new List<string>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<IgnoreAttribute>() is not null || property.GetCustomAttribute<JsonIgnoreAttribute>() is not null
                || property.GetIndexParameters().Length > 0)
            {
                continue;
            }
            var name = JsonName(property);
            properties[name] = PropertySchema(property, depth);
            if (property.GetCustomAttribute<RequiredAttribute>() is not null)
            {
                required.Add(name);
            }
        }
        if (KnownTypeRules.TryGetValue(type, out var rules))
        {
            required.AddRange(rules.Required);
            foreach (var (property, values) in rules.Enums)
            {
                properties[property].EnumProperty = [.. values];
            }
        }
        return new V1JSONSchemaProps
        {
            Type = "object",
            Description = type.GetCustomAttribute<DescriptionAttribute>()?.Text,
            Properties = properties,
            Required = required.Count > 0 ? required.Distinct().Order(StringComparer.Ordinal).ToList() : null,
            XKubernetesValidations = ValidationRules(type.GetCustomAttributes<ValidationRuleAttribute>()),
        };
    }

    private static List<V1ValidationRule>? ValidationRules(IEnumerable<ValidationRuleAttribute> rules)
    {
        var found = rules.Select(r => new V1ValidationRule
        {
            Rule = r.Rule,
            Message = r.Message,
            MessageExpression = r.MessageExpression,
            Reason = r.Reason,
            FieldPath = r.FieldPath,
        }).ToList();
        return found.Count > 0 ? found : null;
    }

    private static V1JSONSchemaProps PropertySchema(PropertyInfo property, int depth)
    {
        var schema = TypeSchema(property.PropertyType, depth + 1);
        schema.Description = property.GetCustomAttribute<DescriptionAttribute>()?.Text ?? schema.Description;
        if (property.GetCustomAttribute<DefaultAttribute>() is { } defaultValue)
        {
            schema.DefaultProperty = JsonSerializer.Deserialize<JsonElement>(defaultValue.Json) switch
            {
                { ValueKind: JsonValueKind.True } => true,
                { ValueKind: JsonValueKind.False } => false,
                { ValueKind: JsonValueKind.Number } number => number.GetInt64(),
                { ValueKind: JsonValueKind.String } text => text.GetString()!,
                var other => throw new InvalidOperationException($"[Default({defaultValue.Json})] on {property.Name}: only literals are supported, not {other.ValueKind}"),
            };
        }
        if (property.GetCustomAttribute<PatternAttribute>() is { } pattern)
        {
            schema.Pattern = pattern.Pattern;
        }
        if (property.GetCustomAttribute<RangeMinimumAttribute>() is { } minimum)
        {
            schema.Minimum = minimum.Minimum;
        }
        if (property.GetCustomAttribute<RangeMaximumAttribute>() is { } maximum)
        {
            schema.Maximum = maximum.Maximum;
        }
        if (property.GetCustomAttribute<LengthAttribute>() is { } length)
        {
            // On a list of strings, the length bounds each string.
            var target = schema.Type == "array" && schema.Items is V1JSONSchemaProps items ? items : schema;
            target.MinLength = length.MinLength >= 0 ? length.MinLength : null;
            target.MaxLength = length.MaxLength >= 0 ? length.MaxLength : null;
        }
        if (property.GetCustomAttribute<ItemsAttribute>() is { } count)
        {
            schema.MinItems = count.MinItems >= 0 ? count.MinItems : null;
            schema.MaxItems = count.MaxItems >= 0 ? count.MaxItems : null;
        }
        if (ValidationRules(property.GetCustomAttributes<ValidationRuleAttribute>()) is { } validations)
        {
            schema.XKubernetesValidations = validations;
        }
        if (property.GetCustomAttribute<ListSetAttribute>() is not null)
        {
            schema.XKubernetesListType = "set";
        }
        if (property.GetCustomAttribute<ListMapAttribute>() is { } listMap)
        {
            schema.XKubernetesListType = "map";
            schema.XKubernetesListMapKeys = [.. listMap.Keys];
            // A map-list's keys must be required in its items.
            if (schema.Items is V1JSONSchemaProps itemSchema)
            {
                itemSchema.Required = [.. (itemSchema.Required ?? []).Union(listMap.Keys).Order(StringComparer.Ordinal)];
            }
        }
        return schema;
    }

    private static V1JSONSchemaProps TypeSchema(Type type, int depth)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string))
        {
            return new V1JSONSchemaProps { Type = "string" };
        }
        if (type == typeof(bool))
        {
            return new V1JSONSchemaProps { Type = "boolean" };
        }
        if (type == typeof(int) || type == typeof(short) || type == typeof(byte) || type == typeof(ushort))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = "int32" };
        }
        if (type == typeof(long) || type == typeof(uint))
        {
            return new V1JSONSchemaProps { Type = "integer", Format = "int64" };
        }
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return new V1JSONSchemaProps { Type = "number" };
        }
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return new V1JSONSchemaProps { Type = "string", Format = "date-time" };
        }
        if (type == typeof(IntOrString) || type == typeof(ResourceQuantity))
        {
            return new V1JSONSchemaProps { XKubernetesIntOrString = true };
        }
        if (type.IsEnum)
        {
            return new V1JSONSchemaProps { Type = "string", EnumProperty = [.. EnumNames(type)] };
        }
        if (DictionaryValueType(type) is { } valueType)
        {
            return new V1JSONSchemaProps { Type = "object", AdditionalProperties = TypeSchema(valueType, depth + 1) };
        }
        if (ListItemType(type) is { } itemType)
        {
            return new V1JSONSchemaProps { Type = "array", Items = TypeSchema(itemType, depth + 1) };
        }
        if (type.IsClass)
        {
            return ObjectSchema(type, depth);
        }
        throw new InvalidOperationException($"no schema mapping for {type.FullName}");
    }

    private static IEnumerable<object> EnumNames(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (object)(f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name));

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && (type.GetGenericTypeDefinition() == typeof(IDictionary<,>) || type.GetGenericTypeDefinition() == typeof(Dictionary<,>)
            || type.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>))
            && type.GetGenericArguments()[0] == typeof(string)
            ? type.GetGenericArguments()[1]
            : null;

    private static Type? ListItemType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }
        if (!type.IsGenericType || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }
        return type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }

    private static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.CamelCase.ConvertName(property.Name);
}
