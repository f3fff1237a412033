using IpvsOperator.Runtime.Hosting;
using System.Globalization;
using System.Text.Json;
using IpvsOperator.Commands;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Commands;

/// <summary>What a log collector reads from <c>--json-logs</c>.</summary>
public class LoggingTests
{
    [Test]
    public void Each_json_log_line_says_when_in_ISO_8601_UTC()
    {
        var console = new StringWriter();
        var original = Console.Out;
        var before = DateTimeOffset.UtcNow;
        Console.SetOut(console); // the console logger takes its writer when it is made
        try
        {
            using var loggers = Logging.Create(json: true);
            loggers.CreateLogger("test").LogInformation("synced");
        }
        finally
        {
            Console.SetOut(original);
        }
        var after = DateTimeOffset.UtcNow;

        var line = console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Single();
        using var entry = JsonDocument.Parse(line);
        entry.RootElement.TryGetProperty("Timestamp", out var timestamp).Should().BeTrue($"a JSON log line carries a timestamp beside its other fields: {line}");
        var text = timestamp.GetString()!;
        text.Should().MatchRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", "ISO 8601 in UTC, to the millisecond");
        var when = DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        when.Should().BeOnOrAfter(before.AddMilliseconds(-1)).And.BeOnOrBefore(after.AddMilliseconds(1));
        entry.RootElement.GetProperty("Message").GetString().Should().Be("synced");
    }
}
