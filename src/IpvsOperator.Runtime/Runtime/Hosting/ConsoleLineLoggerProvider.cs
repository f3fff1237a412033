using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>
/// Writes each entry to the console as one line: plain (<c>HH:mm:ss info: Category[EventId]
/// message</c>, the framework console logger's single-line form) or JSON. A thread of its own
/// writes, so a console that blocks (a full pipe) never holds up the caller, who may be about to
/// withdraw a VIP; and disposal waits until every line is written (up to <see cref="DrainLimit"/>,
/// for a console that never takes it), where the framework's console logger waited 1.5 s at most
/// and lost a stopping agent's last lines (what became of its routes) on a starved node.
/// </summary>
internal sealed class ConsoleLineLoggerProvider : ILoggerProvider
{
    /// <summary>How long disposal waits for the lines still queued: long enough for a starved node, bounded for a console that is gone.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(30);

    // Past this many lines waiting, new ones are dropped and counted: a console that blocks for long must not fill the memory.
    private const int MaxQueued = 10_000;
    // Taken when made, as the framework's console logger does: a test that redirects the console gets its lines.
    private readonly TextWriter output = Console.Out;
    private readonly System.Collections.Concurrent.BlockingCollection<string> queue = new(MaxQueued);
    private readonly Thread writer;
    private readonly bool json;
    private long dropped;

    public ConsoleLineLoggerProvider(bool json)
    {
        this.json = json;
        writer = new Thread(WriteQueued) { IsBackground = true, Name = "console log" };
        writer.Start();
    }

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void Dispose()
    {
        queue.CompleteAdding();
        writer.Join(DrainLimit);
    }

    private void Enqueue(string line)
    {
        try
        {
            if (!queue.TryAdd(line))
            {
                Interlocked.Increment(ref dropped);
            }
        }
        catch (InvalidOperationException)
        {
            // Logged while the loggers are being disposed: the writer thread may be gone, so written here.
            try
            {
                output.WriteLine(line);
            }
            catch (Exception error) when (error is IOException or ObjectDisposedException)
            {
                // The console is gone.
            }
        }
    }

    private void WriteQueued()
    {
        foreach (var line in queue.GetConsumingEnumerable())
        {
            try
            {
                if (Interlocked.Exchange(ref dropped, 0) is var lost and > 0)
                {
                    output.WriteLine($"{lost} log lines dropped: the console did not take them fast enough");
                }
                output.WriteLine(line);
                output.Flush();
            }
            catch (Exception error) when (error is IOException or ObjectDisposedException)
            {
                // The console is gone (a closed pipe): nothing else can be told either.
            }
        }
    }

    private sealed class LineLogger(ConsoleLineLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            var message = formatter(state, exception);
            var now = DateTimeOffset.UtcNow;
            provider.Enqueue(provider.json ? Json(now, logLevel, eventId, message, state, exception) : Plain(now.ToLocalTime(), logLevel, eventId, message, exception));
        }

        private string Plain(DateTimeOffset at, LogLevel level, EventId eventId, string message, Exception? exception)
        {
            var line = new StringBuilder()
                .Append(at.ToString("HH:mm:ss ", CultureInfo.InvariantCulture))
                .Append(Short(level)).Append(": ").Append(category).Append('[').Append(eventId.Id.ToString(CultureInfo.InvariantCulture)).Append("] ")
                .Append(OneLine(message));
            if (exception is not null)
            {
                line.Append(' ').Append(OneLine(exception.ToString()));
            }
            return line.ToString();
        }

        private string Json<TState>(DateTimeOffset at, LogLevel level, EventId eventId, string message, TState state, Exception? exception)
        {
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                // When, in ISO 8601 UTC: a collector that reads lines late (or replays a file) cannot tell otherwise.
                writer.WriteString("Timestamp", at.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                writer.WriteNumber("EventId", eventId.Id);
                writer.WriteString("LogLevel", level.ToString());
                writer.WriteString("Category", category);
                writer.WriteString("Message", message);
                if (exception is not null)
                {
                    writer.WriteString("Exception", exception.ToString());
                }
                if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
                {
                    // As the framework's JSON formatter: the message, then the template's values.
                    writer.WriteStartObject("State");
                    writer.WriteString("Message", message);
                    foreach (var (key, value) in values.Where(v => v.Key != "Message"))
                    {
                        WriteValue(writer, key, value);
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }

        private static void WriteValue(Utf8JsonWriter writer, string key, object? value)
        {
            switch (value)
            {
                case null:
                    writer.WriteNull(key);
                    break;
                case bool flag:
                    writer.WriteBoolean(key, flag);
                    break;
                case int or long or short or byte or uint or ushort or sbyte:
                    writer.WriteNumber(key, Convert.ToInt64(value, CultureInfo.InvariantCulture));
                    break;
                case ulong big:
                    writer.WriteNumber(key, big);
                    break;
                case decimal exact:
                    writer.WriteNumber(key, exact);
                    break;
                case double or float when Convert.ToDouble(value, CultureInfo.InvariantCulture) is var real && double.IsFinite(real):
                    writer.WriteNumber(key, real);
                    break;
                default:
                    writer.WriteString(key, Convert.ToString(value, CultureInfo.InvariantCulture));
                    break;
            }
        }

        private static string OneLine(string text) => text.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ');

        private static string Short(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
    }
}
