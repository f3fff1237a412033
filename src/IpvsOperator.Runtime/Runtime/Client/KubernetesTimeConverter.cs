using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IpvsOperator.Runtime.Client;

/// <summary>
/// Times as the API server writes them and <c>KubernetesJson</c> does: RFC 3339 in UTC with
/// microseconds, which a MicroTime field (a Lease's renewTime, an Event's eventTime) requires and a
/// Time field accepts.
/// </summary>
public sealed class KubernetesTimeConverter : JsonConverter<DateTime>
{
    private const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss.ffffff'Z'";

    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTime.Parse(reader.GetString() ?? throw new JsonException("a time must be a string"), CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToUniversalTime().ToString(Format, CultureInfo.InvariantCulture));
}
