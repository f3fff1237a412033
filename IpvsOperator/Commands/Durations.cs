using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace IpvsOperator.Commands;

/// <summary>
/// Durations on the command line as Kubernetes components write them: <c>500ms</c>, <c>30s</c>,
/// <c>5m</c>, <c>1h</c>, <c>1m30s</c>, <c>1.5s</c>. A bare number is refused: <c>5</c> could mean
/// anything, and TimeSpan's own parser reads it as five days.
/// </summary>
public static partial class Durations
{
    public const string Forms = "a number with a unit: 500ms, 30s, 5m, 1h or a sum such as 1m30s";

    [GeneratedRegex(@"^((?<number>\d+(\.\d+)?)(?<unit>ms|s|m|h))+$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = Pattern().Match(text?.Trim() ?? string.Empty);
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

    /// <summary>A duration option, shown and defaulted in the same form it is typed in.</summary>
    public static Option<TimeSpan> Option(string name, string description, TimeSpan defaultValue)
    {
        var option = new Option<TimeSpan>(name)
        {
            Description = $"{description} (default {Format(defaultValue)})",
            HelpName = "duration",
            DefaultValueFactory = _ => defaultValue,
        };
        option.CustomParser = result => Parse(result, name);
        return option;
    }

    public static string Format(TimeSpan duration) =>
        duration.TotalMilliseconds % 1000 != 0 ? $"{duration.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms"
        : duration.TotalSeconds % 60 != 0 || duration.TotalSeconds < 60 ? $"{duration.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s"
        : duration.TotalMinutes % 60 != 0 || duration.TotalMinutes < 60 ? $"{duration.TotalMinutes.ToString(CultureInfo.InvariantCulture)}m"
        : $"{duration.TotalHours.ToString(CultureInfo.InvariantCulture)}h";

    private static TimeSpan Parse(ArgumentResult result, string name)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
        if (TryParse(text, out var duration) && duration > TimeSpan.Zero)
        {
            return duration;
        }
        result.AddError(TryParse(text, out _) ? $"{name} '{text}' must be longer than zero" : Refusal(name, text));
        return TimeSpan.Zero;
    }
}
