using System.Text.Json;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// Where a request body becomes the object to store (decoding, patching, applying, defaulting and
/// checking it): an exception there is the body's fault, a 400 naming what was wrong, never a 500.
/// System.Text.Json's nodes throw InvalidOperationException for a value of the wrong kind
/// (<c>"$patch": 5</c> read as text), and conversions throw Format, Overflow or ArgumentOutOfRange
/// exceptions (a time of 2^62 seconds): each reader need not foresee every shape.
/// </summary>
internal static class ClientInput
{
    public static T Read<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception error) when (IsMalformedInput(error))
        {
            throw ApiException.BadRequest($"the request body is invalid: {error.Message}");
        }
    }

    private static bool IsMalformedInput(Exception error) =>
        error is InvalidOperationException or FormatException or OverflowException or ArgumentException or InvalidCastException
            or KeyNotFoundException or IndexOutOfRangeException or JsonException;
}
