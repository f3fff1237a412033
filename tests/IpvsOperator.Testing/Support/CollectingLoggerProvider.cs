using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Support;

/// <summary>Keeps every log entry, so that a test can hold a component to what it logs (and how often).</summary>
public sealed class CollectingLoggerProvider : ILoggerProvider
{
    public sealed record Entry(LogLevel Level, string Category, string Message, Exception? Exception);

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILoggerFactory Factory => LoggerFactory.Create(b => b.AddProvider(this).SetMinimumLevel(LogLevel.Debug));

    public IEnumerable<Entry> At(LogLevel level, string category) =>
        Entries.Where(e => e.Level == level && e.Category.EndsWith(category, StringComparison.Ordinal));

    public ILogger CreateLogger(string categoryName) => new Collecting(categoryName, Entries);

    public void Dispose()
    {
    }

    private sealed class Collecting(string category, ConcurrentQueue<Entry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new Entry(logLevel, category, formatter(state, exception), exception));
    }
}
