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
    public void Each_entry_is_one_line_and_all_are_written_by_the_time_the_loggers_are_disposed_so_a_stopping_process_loses_none()
    {
        // A console that takes a second per write, as a starved node's may: the framework's console
        // logger's disposal waited 1.5 s at most for its queue, and lost a stopping agent's last lines.
        var console = new SlowConsole();
        var original = Console.Out;
        Console.SetOut(console);
        try
        {
            using (var loggers = Logging.Create(json: false))
            {
                var logger = loggers.CreateLogger("IpvsOperator.Node.Bgp.BgpAnnouncer");
                logger.LogInformation("BGP: withdrew {Prefixes} ({Why})", "2 prefixes", "the agent stops");
                logger.LogError(new InvalidOperationException("vtysh timed out\nafter 20 s"), "could not apply");
            }

            var lines = console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
            lines.Should().HaveCount(2, "each entry is written, as one line, by the time the process could end");
            lines[0].Should().MatchRegex(@"^\d{2}:\d{2}:\d{2} info: IpvsOperator\.Node\.Bgp\.BgpAnnouncer\[0\] BGP: withdrew 2 prefixes \(the agent stops\)$");
            lines[1].Should().MatchRegex(@"^\d{2}:\d{2}:\d{2} fail: IpvsOperator\.Node\.Bgp\.BgpAnnouncer\[0\] could not apply System\.InvalidOperationException: vtysh timed out after 20 s");
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    [Test]
    public async Task A_console_that_blocks_never_holds_up_the_caller()
    {
        // A full pipe: the election logs before it withdraws a VIP, and must withdraw in time.
        using var release = new ManualResetEventSlim();
        var console = new BlockingConsole(release);
        var original = Console.Out;
        Console.SetOut(console);
        try
        {
            var loggers = Logging.Create(json: false);
            var logger = loggers.CreateLogger("IpvsOperator.Node.Announcement.AnnouncementElection");

            var calls = Task.Run(() =>
            {
                for (var i = 0; i < 100; i++)
                {
                    logger.LogWarning("node-a withdraws {Count} addresses", i);
                }
            });

            // Generous for a loaded machine: blocked, the calls would never end.
            (await Task.WhenAny(calls, Task.Delay(TimeSpan.FromSeconds(30)))).Should().BeSameAs(calls, "logging returns while the console is blocked");
            release.Set();
            loggers.Dispose();
            console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(100, "once it unblocks, every line is written");
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    private sealed class BlockingConsole(ManualResetEventSlim release) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            release.Wait();
            base.WriteLine(value);
        }
    }

    private sealed class SlowConsole : StringWriter
    {
        public override void Write(string? value)
        {
            Thread.Sleep(TimeSpan.FromSeconds(1));
            base.Write(value);
        }

        public override void WriteLine(string? value)
        {
            Thread.Sleep(TimeSpan.FromSeconds(1));
            base.WriteLine(value);
        }
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
