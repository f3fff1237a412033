using Microsoft.Extensions.Logging;

namespace IpvsOperator.Commands;

/// <summary>The loggers of a process: one line per entry, or JSON lines with <c>--json-logs</c>.</summary>
internal static class Logging
{
    public static ILoggerFactory Create(bool json) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(LogLevel.Information);
        if (json)
        {
            builder.AddJsonConsole();
        }
        else
        {
            builder.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        }
    });
}
