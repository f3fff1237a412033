using System.Text.Json.Nodes;
using k8s.Models;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// <c>events.k8s.io/v1</c> Events: the core Events under the names upstream's conversion gives
/// them (<c>regarding</c> is <c>involvedObject</c>, <c>note</c> is <c>message</c>,
/// <c>reportingController</c> is <c>reportingComponent</c>, the old counters are
/// <c>deprecated*</c>), with upstream's stricter checks for an Event written through this API
/// (<c>ValidateEventCreate</c> at events/v1: eventTime, reportingController, reportingInstance,
/// action, reason and type are required, the deprecated fields must be unset).
/// </summary>
internal static class EventsV1
{
    /// <summary>Core v1 name, events.k8s.io/v1 name; the other fields carry the same names.</summary>
    private static readonly (string Core, string Events)[] Renamed =
    [
        ("involvedObject", "regarding"),
        ("message", "note"),
        ("reportingComponent", "reportingController"),
        ("source", "deprecatedSource"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ];

    private static readonly string[] Same = ["reportingInstance", "related", "eventTime", "series", "action", "reason", "type"];

    public static ApiResource For(ApiResource coreEvents) => new("events.k8s.io", "v1", "Event", "events", true, ["ev"], false)
    {
        Model = typeof(Eventsv1Event),
        MergeKeys = coreEvents.MergeKeys,
        Columns = [new("Last Seen", "string", ".deprecatedLastTimestamp") { Compute = LastSeen }, new("Type", "string", ".type"), new("Reason", "string", ".reason"),
            new("Object", "string", ".regarding.name"), new("Message", "string", ".note")],
        Conversion = new ResourceConversion(coreEvents, ToCore, FromCore, Validate),
    };

    public static JsonObject FromCore(JsonObject core) => Convert(core, "events.k8s.io/v1", Renamed.Select(r => (r.Core, r.Events)));

    public static JsonObject ToCore(JsonObject events) => Convert(events, "v1", Renamed.Select(r => (r.Events, r.Core)));

    private static JsonObject Convert(JsonObject source, string apiVersion, IEnumerable<(string From, string To)> renamed)
    {
        var converted = new JsonObject { ["kind"] = "Event", ["apiVersion"] = apiVersion, ["metadata"] = source["metadata"]?.DeepClone() };
        foreach (var (from, to) in renamed)
        {
            if (source[from] is { } value)
            {
                converted[to] = value.DeepClone();
            }
        }
        foreach (var field in Same)
        {
            if (source[field] is { } value)
            {
                converted[field] = value.DeepClone();
            }
        }
        return converted;
    }

    private static List<(string, string)> Validate(JsonObject evt, JsonObject? old)
    {
        var causes = new List<(string, string)>();
        static string Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : string.Empty;
        if (Text(evt["eventTime"]).Length == 0)
        {
            causes.Add(("eventTime", "Required value"));
        }
        foreach (var required in new[] { "reportingController", "reportingInstance", "action", "reason" })
        {
            if (Text(evt[required]).Length == 0)
            {
                causes.Add((required, "Required value"));
            }
        }
        if (Text(evt["note"]).Length > 1024)
        {
            causes.Add(("note", "Invalid value: \"\": can have at most 1024 characters"));
        }
        if (old is null)
        {
            // Only a create through this API is held to it (upstream's ValidateEventCreate at events/v1).
            var type = Text(evt["type"]);
            if (type is not ("Normal" or "Warning"))
            {
                causes.Add(("type", $"Invalid value: \"\": has invalid value: {type}"));
            }
            foreach (var deprecated in new[] { "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount", "deprecatedSource" })
            {
                if (evt[deprecated] is { } value && value.ToJsonString() is not ("null" or "0" or "{}" or "\"\""))
                {
                    causes.Add((deprecated, "Invalid value: \"\": needs to be unset"));
                }
            }
        }
        return causes;
    }

    /// <summary>LAST SEEN: the age of the last timestamp an older client wrote, else of the event time, else of the creation.</summary>
    private static JsonNode? LastSeen(JsonObject evt, DateTimeOffset now) => Tables.EventLastSeen(ToCore(evt), now);
}
