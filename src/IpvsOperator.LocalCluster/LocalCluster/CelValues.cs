using System.Text.Json;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// JSON as the <c>Cel</c> package reads it: objects as dictionaries (field selection and <c>in</c>
/// work on those), lists as <see cref="CelList"/> (which charges the budget), integers as
/// <c>long</c>, other numbers as <c>double</c>, strings, booleans and null as themselves.
/// </summary>
internal static class CelValues
{
    public static object? From(JsonNode? node) => node switch
    {
        null => null,
        JsonObject obj => obj.ToDictionary(p => p.Key, p => From(p.Value), StringComparer.Ordinal),
        JsonArray array => new CelList([.. array.Select(From)]),
        JsonValue value => Scalar(value),
        _ => null,
    };

    private static object? Scalar(JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String:
                return value.GetValue<string>();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.Number:
                return value.TryGetValue<long>(out var integer) ? integer
                    : long.TryParse(value.ToJsonString(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out integer) ? integer
                    : double.Parse(value.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
            default:
                return null;
        }
    }

    /// <summary>A map of strings to lists of strings (a user's extra), as CEL reads it.</summary>
    public static Dictionary<string, object?> From(IReadOnlyDictionary<string, IReadOnlyList<string>> map) =>
        map.ToDictionary(p => p.Key, p => (object?)new CelList([.. p.Value]), StringComparer.Ordinal);

    /// <summary>What a rule's result or message came to, for the error that says it was not a bool or a string.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "null",
        bool => "bool",
        long => "int",
        ulong => "uint",
        double => "double",
        string => "string",
        System.Collections.IDictionary => "map",
        System.Collections.IList => "list",
        _ => value.GetType().Name,
    };
}
