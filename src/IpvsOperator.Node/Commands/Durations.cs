using System.CommandLine;
using System.CommandLine.Parsing;
using IpvsOperator.Runtime.Text;

namespace IpvsOperator.Commands;

/// <summary>Duration flags: read as <see cref="DurationText"/> reads them, their defaults shown in that form.</summary>
public static class Durations
{
    /// <summary>A duration option, its default shown in the form it is typed in (not as TimeSpan prints it).</summary>
    public static DurationOption Option(string name, string description, TimeSpan defaultValue, bool zeroAllowed = false)
    {
        var option = new Option<TimeSpan?>(name)
        {
            Description = $"{description} (default {DurationText.Format(defaultValue)})",
            HelpName = "duration",
        };
        option.CustomParser = result => Parse(result, name, zeroAllowed);
        return new DurationOption(option, defaultValue);
    }

    private static TimeSpan? Parse(ArgumentResult result, string name, bool zeroAllowed)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(' ', result.Tokens.Select(t => t.Value));
        if (zeroAllowed && text.Trim() == "0")
        {
            return TimeSpan.Zero;
        }
        if (DurationText.TryParse(text, out var duration) && (duration > TimeSpan.Zero || zeroAllowed))
        {
            return duration;
        }
        result.AddError(DurationText.TryParse(text, out _) ? $"{name} '{text}' must be longer than zero" : DurationText.Refusal(name, text));
        return null;
    }
}

/// <summary>A duration flag and its default, which applies when the flag is not given.</summary>
public sealed record DurationOption(Option<TimeSpan?> Option, TimeSpan Default)
{
    public TimeSpan ValueIn(ParseResult result) => result.GetValue(Option) ?? Default;
}
