using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Support;

/// <summary>Logs to NUnit's progress stream, which reaches the console at once (the VM's test log).</summary>
public sealed class ProgressLoggerProvider(LogLevel minimum = LogLevel.Information) : ILoggerProvider
{
    public static ILoggerFactory Factory(LogLevel minimum = LogLevel.Information) => LoggerFactory.Create(b => b.AddProvider(new ProgressLoggerProvider(minimum)).SetMinimumLevel(minimum));

    public ILogger CreateLogger(string categoryName) => new ProgressLogger(categoryName[(categoryName.LastIndexOf('.') + 1)..], minimum);

    public void Dispose()
    {
    }

    private sealed class ProgressLogger(string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                TestContext.Progress.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception.Message)}");
            }
        }
    }
}
