using System.Diagnostics;

namespace IpvsOperator.Tests.Support;

public sealed record ProcessResult(int ExitCode, string Output, string Error);

/// <summary>Runs a program to completion with a timeout, capturing what it prints.</summary>
public static class Processes
{
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null, string? standardInput = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
            process.StandardInput.Close();
        }
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout}");
        }
        return new ProcessResult(process.ExitCode, await output, await error);
    }

    /// <summary>
    /// Runs a command line split on spaces (no shell, no quoting: the tests' ip, ipvsadm and nft
    /// commands need none), asserts that it succeeded, and returns what it printed.
    /// </summary>
    public static async Task<string> Sh(string command)
    {
        var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var result = await RunAsync(parts[0], parts[1..], TimeSpan.FromSeconds(30));
        result.ExitCode.Should().Be(0, $"{command}: {result.Error}");
        return result.Output;
    }

    /// <summary>
    /// A host on a test LAN: a network namespace whose eth0 is a veth pair's end, the other end
    /// (<paramref name="port"/>) a port of <paramref name="bridge"/>; loopback and eth0 up, the address on eth0.
    /// </summary>
    public static async Task JoinLanAsync(string bridge, string name, string port, string address)
    {
        await Sh($"ip netns add {name}");
        await Sh($"ip link add {port} type veth peer name eth0 netns {name}");
        await Sh($"ip link set {port} master {bridge}");
        await Sh($"ip link set {port} up");
        await Sh($"ip -n {name} link set lo up");
        await Sh($"ip -n {name} link set eth0 up");
        await Sh($"ip -n {name} addr add {address} dev eth0");
    }
}
