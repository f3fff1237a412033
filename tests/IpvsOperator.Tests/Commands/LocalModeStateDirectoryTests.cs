using System.Diagnostics;
using IpvsOperator.Commands;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Commands;

/// <summary>One local mode per state directory: a second `make run` says so instead of taking the first one's kubeconfig.</summary>
public class LocalModeStateDirectoryTests
{
    private static readonly string Binary = Path.Combine(AppContext.BaseDirectory, "ipvs-operator.dll");

    [Test]
    public async Task A_second_local_mode_is_refused_while_the_first_runs_and_a_crashed_one_blocks_nothing()
    {
        var home = Directory.CreateTempSubdirectory("local-state-");
        var state = Path.Combine(home.FullName, "state");
        var kubeconfig = Path.Combine(state, "kubeconfig");

        // A local mode in a process of its own, which then dies without a chance to clean up.
        var crashing = StartLocalProcess(state);
        try
        {
            await Eventually.TrueAsync(() => File.Exists(kubeconfig) || crashing.HasExited, "the first local mode writes its kubeconfig", TimeSpan.FromSeconds(60));
            crashing.HasExited.Should().BeFalse("the first local mode runs");
            var refused = await FluentActions.Awaiting(() => RunningLocalMode.StartAsync(state)).Should().ThrowAsync<StateDirectoryInUseException>();
            refused.Which.Message.Should().Contain($"process {crashing.Id}").And.Contain(state);
        }
        finally
        {
            crashing.Kill(); // SIGKILL: no clean stop
            await crashing.WaitForExitAsync();
            crashing.Dispose();
        }

        // The lock went with the dead process: this one starts.
        var local = await RunningLocalMode.StartAsync(state);
        var before = await File.ReadAllTextAsync(kubeconfig);
        var second = await Processes.RunAsync("dotnet", [Binary, "local", "--state-dir", state, "--samples", home.FullName], TimeSpan.FromSeconds(60));

        second.ExitCode.Should().NotBe(0);
        second.Error.Trim().Should().NotContain("\n", "the refusal is one line, not a stack trace")
            .And.Contain($"process {Environment.ProcessId}").And.Contain(state).And.Contain("--state-dir");
        (await File.ReadAllTextAsync(kubeconfig)).Should().Be(before, "the running local mode's kubeconfig is left as it was");
        var kubectl = await Processes.RunAsync("kubectl", ["--kubeconfig", kubeconfig, "--cache-dir", Path.Combine(home.FullName, "cache"), "get", "namespaces"]);
        kubectl.ExitCode.Should().Be(0, $"the first local mode is still reachable: {kubectl.Error}");

        await local.DisposeAsync();
        File.Exists(kubeconfig).Should().BeFalse("a clean stop leaves no kubeconfig pointing at a port nobody serves");
        home.Delete(recursive: true);
    }

    private static Process StartLocalProcess(string state)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Binary, "local", "--state-dir", state, "--samples", state })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start a local mode");
        // Read, so that a full pipe never stalls it.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
