using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>
/// The loggers of a process: one line per entry, or JSON lines with <c>--json-logs</c>; entries below
/// <c>--log-level</c> (info unless told) are dropped.
/// </summary>
public static class Logging
{
    /// <summary>The names <c>--log-level</c> accepts, from the most to the least said.</summary>
    public static readonly IReadOnlyList<string> LevelNames = ["trace", "debug", "info", "warning", "error"];

    public const string DefaultLevel = "info";

    public const string LevelDescription =
        "The least severe entries written: trace, debug (more detail; local mode also prints the whole IPVS table after each change), info, warning or error.";

    public static ILoggerFactory Create(bool json, string level = DefaultLevel) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(LevelOf(level));
        // Made by the container (not added as an instance), so disposing the factory disposes it and its last lines are written.
        builder.Services.AddSingleton<ILoggerProvider>(_ => new ConsoleLineLoggerProvider(json));
    });

    /// <summary>The level a name of <see cref="LevelNames"/> stands for; the command line refuses any other name first.</summary>
    public static LogLevel LevelOf(string name) => name switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Information,
        "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, $"not a log level; valid: {string.Join(", ", LevelNames)}"),
    };
}
