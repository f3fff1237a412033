using System.Globalization;
using System.Text.RegularExpressions;

namespace IpvsOperator.Runtime.Text;

/// <summary>
/// Durations as Kubernetes components write them, on the command line and in annotations:
/// <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1m30s</c>, <c>1.5s</c>, and <c>hh:mm:ss</c> as
/// earlier releases took it. A bare number is refused: <c>5</c> could mean anything, and TimeSpan's
/// own parser reads it as five days.
/// </summary>
public static partial class DurationText
{
    public const string Forms = "a number with a unit: 500ms, 30s, 5m, 1h or a sum such as 1m30s";

    [GeneratedRegex(@"^((?<number>\d+(\.\d+)?)(?<unit>ms|s|m|h))+$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var trimmed = text?.Trim() ?? string.Empty;
        // hh:mm:ss(.f), as earlier releases took it (deployments may still pass it).
        if (trimmed.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParseExact(trimmed, ["c", "g"], CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
        }
        var match = Pattern().Match(trimmed);
        if (!match.Success)
        {
            return false;
        }
        for (var i = 0; i < match.Groups["number"].Captures.Count; i++)
        {
            var number = double.Parse(match.Groups["number"].Captures[i].Value, CultureInfo.InvariantCulture);
            duration += match.Groups["unit"].Captures[i].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(number),
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                _ => TimeSpan.FromHours(number),
            };
        }
        return true;
    }

    /// <summary>The message for a value that is not a duration, naming it (a flag or an annotation) and the forms that are.</summary>
    public static string Refusal(string option, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? $"{option} '{text}' has no unit; write {text}s, {text}ms or {text}m ({Forms})"
            : $"{option} '{text}' is not a duration; expected {Forms}";

    public static string Format(TimeSpan duration) =>
        duration == TimeSpan.Zero ? "0s"
        : duration.TotalMilliseconds % 1000 != 0 ? $"{duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms"
        : duration.TotalSeconds % 60 != 0 || duration.TotalSeconds < 60 ? $"{duration.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s"
        : duration.TotalMinutes % 60 != 0 || duration.TotalMinutes < 60 ? $"{duration.TotalMinutes.ToString(CultureInfo.InvariantCulture)}m"
        : $"{duration.TotalHours.ToString(CultureInfo.InvariantCulture)}h";
}
