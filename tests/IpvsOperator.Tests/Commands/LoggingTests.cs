using IpvsOperator.Runtime.Hosting;
using System.Globalization;
using System.Text.Json;
using IpvsOperator.Commands;
using IpvsOperator.Tests.Support;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Commands;

/// <summary>What a log collector reads from <c>--json-logs</c>, and what <c>--log-level</c> lets through.</summary>
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

    [Test]
    public void Debug_entries_are_written_only_when_asked_for()
    {
        var console = new StringWriter();
        var original = Console.Out;
        Console.SetOut(console);
        try
        {
            using (var quiet = Logging.Create(json: false))
            {
                quiet.CreateLogger("test").LogDebug("the whole table");
            }
            using var loud = Logging.Create(json: false, "debug");
            loud.CreateLogger("test").LogDebug("the table once asked");
        }
        finally
        {
            Console.SetOut(original);
        }

        console.ToString().Should().NotContain("the whole table", "info is the default").And.Contain("the table once asked");
    }

    [Test]
    public async Task Every_verb_that_runs_takes_a_log_level_and_refuses_one_it_does_not_know()
    {
        foreach (var verb in new[] { "node", "controller", "local" })
        {
            var help = await Processes.RunAsync("dotnet", [CommandLineTests.Binary, "help", verb], TimeSpan.FromSeconds(60));
            help.Output.Should().Contain("--log-level").And.Contain("debug");
        }
        var refused = await Processes.RunAsync("dotnet", [CommandLineTests.Binary, "node", "--dataplane", "memory", "--log-level", "verbose"], TimeSpan.FromSeconds(60));

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("verbose").And.Contain("debug");
    }
}
