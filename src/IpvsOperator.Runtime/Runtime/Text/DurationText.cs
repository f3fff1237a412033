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

    // [0-9], not \d: \d takes every script's digits (a fullwidth １０s), which double.Parse then refuses with an exception.
    [GeneratedRegex(@"^((?<number>[0-9]+(\.[0-9]+)?)(?<unit>ms|s|m|h))+$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>
    /// The longest duration read, a second short of what a TimeSpan holds (about 29,000 years): anything
    /// longer is no duration anyone means, and is refused rather than thrown as an OverflowException
    /// (an annotation is anyone's input; one exception in the agent's loop stopped every sync).
    /// </summary>
    private static readonly double MaximumMilliseconds = TimeSpan.MaxValue.TotalMilliseconds - 1000;

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
        var milliseconds = 0.0;
        for (var i = 0; i < match.Groups["number"].Captures.Count; i++)
        {
            var number = double.Parse(match.Groups["number"].Captures[i].Value, CultureInfo.InvariantCulture);
            milliseconds += number * match.Groups["unit"].Captures[i].Value switch
            {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                _ => 3_600_000,
            };
        }
        if (!double.IsFinite(milliseconds) || milliseconds > MaximumMilliseconds)
        {
            return false;
        }
        duration = TimeSpan.FromMilliseconds(milliseconds);
        return true;
    }

    /// <summary>Written as a duration is, but longer than any can be: worth its own message rather than "not a duration".</summary>
    public static bool IsTooLong(string? text) => !TryParse(text, out _) && Pattern().IsMatch(text?.Trim() ?? string.Empty);

    /// <summary>The message for a value that is not a duration, naming it (a flag or an annotation) and the forms that are.</summary>
    public static string Refusal(string option, string text)
    {
        var quoted = QuotedValue.Of(text);
        return IsTooLong(text) ? $"{option} '{quoted}' is longer than any duration can be; expected {Forms}"
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && quoted == text
                ? $"{option} '{text}' has no unit; write {text}s, {text}ms or {text}m ({Forms})"
                : $"{option} '{quoted}' is not a duration; expected {Forms}";
    }

    public static string Format(TimeSpan duration) =>
        duration == TimeSpan.Zero ? "0s"
        : duration.TotalMilliseconds % 1000 != 0 ? $"{duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms"
        : duration.TotalSeconds % 60 != 0 || duration.TotalSeconds < 60 ? $"{duration.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s"
        : duration.TotalMinutes % 60 != 0 || duration.TotalMinutes < 60 ? $"{duration.TotalMinutes.ToString(CultureInfo.InvariantCulture)}m"
        : $"{duration.TotalHours.ToString(CultureInfo.InvariantCulture)}h";
}
