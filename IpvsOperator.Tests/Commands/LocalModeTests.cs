using IpvsOperator.Commands;
using IpvsOperator.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Commands;

/// <summary>What `make run` promises a newcomer, checked with the real kubectl.</summary>
public class LocalModeTests
{
    [Test]
    public async Task Local_mode_gives_the_sample_Service_an_address_and_an_IPVS_table_and_refuses_a_bad_pool()
    {
        var state = Directory.CreateTempSubdirectory("local-mode-");
        var output = new StringWriter();
        var mode = new LocalMode(new LocalModeOptions { StateDirectory = state.FullName, SamplesDirectory = Path.Combine(RepositoryRoot.Path, "config", "samples") },
            NullLoggerFactory.Instance, TextWriter.Synchronized(output));
        using var stop = new CancellationTokenSource();
        var ready = new TaskCompletionSource();
        var running = Task.Run(() => mode.RunAsync(stop.Token, ready));
        await Task.WhenAny(ready.Task, running).WaitAsync(TimeSpan.FromSeconds(60));
        if (running.IsFaulted)
        {
            await running;
        }
        Task<ProcessResult> Kubectl(params string[] arguments) =>
            Processes.RunAsync("kubectl", ["--kubeconfig", mode.KubeconfigPath, "--cache-dir", Path.Combine(state.FullName, "cache"), .. arguments]);

        output.ToString().Should().Contain(mode.KubeconfigPath);
        await Eventually.TrueAsync(() => output.ToString().Contains("default/sample-web", StringComparison.Ordinal) && output.ToString().Contains("192.0.2.", StringComparison.Ordinal),
            "the sample Service's address is shown");
        await Eventually.TrueAsync(() => System.Text.RegularExpressions.Regex.IsMatch(output.ToString(), @"TCP  192\.0\.2\.\d+:80 rr\n  +-> 10\.244\.0\.10:8080 +Masq +1\n  +-> 10\.244\.0\.11:8080 +Masq +1"),
            () => $"the node agent's IPVS table shows the sample's virtual service; output so far:\n{output}");
        var listed = await Kubectl("get", "ippools,svc,ipalloc");
        listed.ExitCode.Should().Be(0, listed.Error);
        listed.Output.Should().Contain("ippool.ipvsoperator.io/sample-pool").And.Contain("service/sample-web").And.Contain("ipallocation.ipvsoperator.io/ipv4-192-0-2-");

        var overlapping = Path.Combine(state.FullName, "overlap.yaml");
        await File.WriteAllTextAsync(overlapping, "apiVersion: ipvsoperator.io/v1alpha1\nkind: IPPool\nmetadata: {name: overlap}\nspec: {addresses: [192.0.2.8/29]}\n");
        var refused = await Kubectl("create", "-f", overlapping);
        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("denied the request").And.Contain("overlaps 192.0.2.0-192.0.2.15 of IPPool sample-pool");

        var malformed = Path.Combine(state.FullName, "malformed.yaml");
        await File.WriteAllTextAsync(malformed, "apiVersion: ipvsoperator.io/v1alpha1\nkind: IPPool\nmetadata: {name: malformed}\nspec: {addresses: [10.0.0.300/24]}\n");
        (await Kubectl("create", "-f", malformed)).Error.Should().Contain("'10.0.0.300/24' is not a valid CIDR");

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        state.Delete(recursive: true);
    }
}
