using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>The loggers of a process: one line per entry, or JSON lines with <c>--json-logs</c>.</summary>
public static class Logging
{
    public static ILoggerFactory Create(bool json) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(LogLevel.Information);
        if (json)
        {
            // When, in ISO 8601 UTC: a collector that reads lines late (or replays a file) cannot tell otherwise.
            builder.AddJsonConsole(o => { o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'"; o.UseUtcTimestamp = true; });
        }
        else
        {
            builder.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        }
    });
}
