using System.Diagnostics;

namespace IpvsOperator.Dataplane;

/// <summary>
/// Runs a program of the host (nft, FRR's tools) to its end, with a time limit: a hung program
/// (a stuck socket, a lock) is killed rather than hanging the agent's loop with it.
/// </summary>
internal static class ExternalProgram
{
    /// <summary>Its standard output; a non-zero exit is an error that carries its standard error.</summary>
    public static string Run(string program, IReadOnlyList<string> arguments, string? input, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program, arguments)
        {
            RedirectStandardInput = input is not null, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        // Written beside the wait, so that a program that stops reading cannot block us past the timeout.
        var writing = input is null ? Task.CompletedTask : WriteInputAsync(process, input);
        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended meanwhile.
            }
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} did not finish within {timeout}: killed");
        }
        process.WaitForExit(); // the output is read to its end
        writing.Wait();
        if (process.ExitCode != 0)
        {
            var said = error.Result.Trim();
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {(said.Length > 0 ? said : output.Result.Trim())}");
        }
        return output.Result;
    }

    private static async Task WriteInputAsync(Process process, string input)
    {
        try
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It stopped reading (it failed early, or was killed): its exit code and message say why.
        }
    }
}
