using IpvsOperator.Commands;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Support;

/// <summary>`make run` in the test's process: local mode with the samples, started until ready (or its failure rethrown), stopped on dispose.</summary>
public sealed class RunningLocalMode : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private Task running = Task.CompletedTask;

    private RunningLocalMode(LocalMode mode) => Mode = mode;

    public LocalMode Mode { get; }

    /// <param name="configure">Changes to the options `make run` gives (a flag of its ARGS).</param>
    public static async Task<RunningLocalMode> StartAsync(string stateDirectory, TextWriter? output = null, ILoggerFactory? loggers = null,
        Func<LocalModeOptions, LocalModeOptions>? configure = null)
    {
        var options = new LocalModeOptions { StateDirectory = stateDirectory, SamplesDirectory = Path.Combine(RepositoryRoot.Path, "config", "samples") };
        var local = new RunningLocalMode(new LocalMode(configure?.Invoke(options) ?? options, loggers ?? NullLoggerFactory.Instance, output ?? TextWriter.Null));
        var ready = new TaskCompletionSource();
        local.running = Task.Run(() => local.Mode.RunAsync(local.stop.Token, ready));
        await Task.WhenAny(ready.Task, local.running).WaitAsync(TimeSpan.FromSeconds(60));
        if (local.running.IsFaulted)
        {
            await local.running;
        }
        return local;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        stop.Dispose();
    }
}
