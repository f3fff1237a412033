using System.Text.Json;
using System.Text.Json.Serialization;

namespace IpvsOperator.Runtime.Client;

/// <summary>A nullable time: null written as null, otherwise as <see cref="KubernetesTimeConverter"/> writes it.</summary>
public sealed class NullableKubernetesTimeConverter : JsonConverter<DateTime?>
{
    private static readonly KubernetesTimeConverter Time = new();

    public override bool HandleNull => true;

    public override DateTime? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? null : Time.Read(ref reader, typeof(DateTime), options);

    public override void Write(Utf8JsonWriter writer, DateTime? value, JsonSerializerOptions options)
    {
        if (value is { } time)
        {
            Time.Write(writer, time, options);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
