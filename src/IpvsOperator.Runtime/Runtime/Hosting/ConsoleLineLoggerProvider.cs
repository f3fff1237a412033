using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>
/// Writes each entry to the console as one line before the call returns: plain
/// (<c>HH:mm:ss info: Category[EventId] message</c>, the console logger's single-line form) or JSON.
/// The framework's console logger writes from a queue that its disposal waits at most 1.5 s for, so
/// on a starved node the last lines of a stopping agent (what became of its routes) were lost;
/// these lines are few, and written at once.
/// </summary>
internal sealed class ConsoleLineLoggerProvider(bool json) : ILoggerProvider
{
    // Taken when made, as the framework's console logger does: a test that redirects the console gets its lines.
    private readonly TextWriter output = Console.Out;
    private readonly Lock gate = new();

    private bool AsJson => json;

    public ILogger CreateLogger(string categoryName) => new LineLogger(this, categoryName);

    public void Dispose() => output.Flush();

    private void Write(string line)
    {
        lock (gate)
        {
            output.WriteLine(line);
            output.Flush();
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
            provider.Write(provider.AsJson ? Json(now, logLevel, eventId, message, state, exception) : Plain(now.ToLocalTime(), logLevel, eventId, message, exception));
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
                    writer.WriteStartObject("State");
                    foreach (var (key, value) in values)
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
                case int or long or short or byte or uint or ulong or ushort or sbyte or double or float or decimal:
                    writer.WriteNumber(key, Convert.ToDecimal(value, CultureInfo.InvariantCulture));
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
