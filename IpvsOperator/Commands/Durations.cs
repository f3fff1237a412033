using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace IpvsOperator.Commands;

/// <summary>
/// Durations on the command line as Kubernetes components write them: <c>500ms</c>, <c>30s</c>,
/// <c>5m</c>, <c>1h</c>, <c>1m30s</c>, <c>1.5s</c>, and <c>hh:mm:ss</c> as earlier releases took it.
/// A bare number is refused: <c>5</c> could mean anything, and TimeSpan's own parser reads it as five days.
/// </summary>
public static partial class Durations
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

    /// <summary>The message for a value that is not a duration, naming it and the forms that are.</summary>
    public static string Refusal(string option, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? $"{option} '{text}' has no unit; write {text}s, {text}ms or {text}m ({Forms})"
            : $"{option} '{text}' is not a duration; expected {Forms}";

    /// <summary>A duration option, its default shown in the form it is typed in (not as TimeSpan prints it).</summary>
    public static DurationOption Option(string name, string description, TimeSpan defaultValue, bool zeroAllowed = false)
    {
        var option = new Option<TimeSpan?>(name)
        {
            Description = $"{description} (default {Format(defaultValue)})",
            HelpName = "duration",
        };
        option.CustomParser = result => Parse(result, name, zeroAllowed);
        return new DurationOption(option, defaultValue);
    }

    public static string Format(TimeSpan duration) =>
        duration == TimeSpan.Zero ? "0s"
        : duration.TotalMilliseconds % 1000 != 0 ? $"{duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms"
        : duration.TotalSeconds % 60 != 0 || duration.TotalSeconds < 60 ? $"{duration.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s"
        : duration.TotalMinutes % 60 != 0 || duration.TotalMinutes < 60 ? $"{duration.TotalMinutes.ToString(CultureInfo.InvariantCulture)}m"
        : $"{duration.TotalHours.ToString(CultureInfo.InvariantCulture)}h";

    private static TimeSpan? Parse(ArgumentResult result, string name, bool zeroAllowed)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
        if (zeroAllowed && text.Trim() == "0")
        {
            return TimeSpan.Zero;
        }
        if (TryParse(text, out var duration) && (duration > TimeSpan.Zero || zeroAllowed))
        {
            return duration;
        }
        result.AddError(TryParse(text, out _) ? $"{name} '{text}' must be longer than zero" : Refusal(name, text));
        return null;
    }
}

/// <summary>A duration flag and its default, which applies when the flag is not given.</summary>
public sealed record DurationOption(Option<TimeSpan?> Option, TimeSpan Default)
{
    public TimeSpan ValueIn(ParseResult result) => result.GetValue(Option) ?? Default;
}
