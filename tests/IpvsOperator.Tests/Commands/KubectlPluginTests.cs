using IpvsOperator.Commands;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.Commands;

/// <summary>
/// `kubectl ipvs` as a user runs it: the real kubectl finds the plugin on PATH (the script
/// `make kubectl-plugin` writes) and the plugin reads local mode's API through the kubeconfig.
/// </summary>
public class KubectlPluginTests
{
    [Test]
    public async Task Kubectl_ipvs_shows_the_pools_a_VIP_and_who_serves_it_and_explains_a_pending_Service()
    {
        var state = Directory.CreateTempSubdirectory("kubectl-ipvs-");
        var local = await RunningLocalMode.StartAsync(state.FullName);
        var plugins = Directory.CreateDirectory(Path.Combine(state.FullName, "bin"));
        var operatorDll = typeof(InspectCommand).Assembly.Location.Replace("IpvsOperator.Inspection.dll", "ipvs-operator.dll", StringComparison.Ordinal);
        var script = Path.Combine(plugins.FullName, "kubectl-ipvs");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\nexec dotnet {operatorDll} inspect \"$@\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Task<ProcessResult> Kubectl(params string[] arguments) =>
            Processes.RunAsync("env", [$"KUBECONFIG={local.Mode.KubeconfigPath}", $"PATH={plugins.FullName}:{Environment.GetEnvironmentVariable("PATH")}",
                $"KUBECACHEDIR={Path.Combine(state.FullName, "cache")}", "kubectl", .. arguments], TimeSpan.FromSeconds(60));

        var status = await Kubectl("ipvs", "status", "svc/sample-web");
        await Eventually.TrueAsync(async () => (status = await Kubectl("ipvs", "status", "svc/sample-web")).Output.Contains("announced (layer 2)", StringComparison.Ordinal),
            () => $"the sample's VIP is announced by the local node; kubectl ipvs status says\n{status.Output}{status.Error}");
        status.ExitCode.Should().Be(0);
        status.Output.Should().MatchRegex(@"Service default/sample-web: type LoadBalancer")
            .And.MatchRegex(@"\n  192\.0\.2\.\d+\n    pool sample-pool, claim ipallocation/ipv4-192-0-2-\d+\n")
            .And.MatchRegex(@"node \S+: announced \(layer 2\); ready, last sync ok \d+s ago; in all it programs \d+ virtual services?, \d+ destinations?")
            .And.MatchRegex(@"\n      TCP 80 \(\w+\): \d+ destinations?, connections as of \d+s ago\n        \d+\.\d+\.\d+\.\d+:\d+  weight \d+, 0 active, 0 inactive connections\n",
                "each node's virtual service on the VIP with its destinations, as the node's IPVSNode lists them (no traffic passes through local mode's in-memory IPVS)")
            .And.Contain("IPAllocated", "the Service's Events are listed");

        var pools = await Kubectl("ipvs", "pools");
        pools.ExitCode.Should().Be(0, pools.Error);
        pools.Output.Should().MatchRegex(@"POOL +READY +IPV4 USED/CAPACITY").And.MatchRegex(@"sample-pool +True +1/\d+ +0/\d+ +1 +layer2,bgp\n", "one address of the sample's IPv4 range in use, by one claim, announced both ways by default");

        (await Kubectl("ipvs", "why", "sample-web")).Output.Should().StartWith("Service default/sample-web is served: 192.0.2.");

        // The sample's own address, which it does not share: the controller refuses it to another Service.
        var taken = System.Text.RegularExpressions.Regex.Match(status.Output, @"\n  (192\.0\.2\.\d+)\n").Groups[1].Value;
        var outside = Path.Combine(state.FullName, "outside.yaml");
        await File.WriteAllTextAsync(outside, $$$"""
            apiVersion: v1
            kind: Service
            metadata:
              name: outside
              annotations: {ipvsoperator.io/load-balancer-ips: "{{{taken}}}"}
            spec: {type: LoadBalancer, ports: [{port: 80}], selector: {app: none}}
            """);
        var applied = await Kubectl("apply", "-f", outside);
        applied.ExitCode.Should().Be(0, applied.Error);
        var why = await Kubectl("ipvs", "why", "svc/outside");
        await Eventually.TrueAsync(async () => (why = await Kubectl("ipvs", "why", "svc/outside")).Output.Contains("the controller said", StringComparison.Ordinal),
            () => $"the controller's refusal is quoted; kubectl ipvs why says {why.Output}{why.Error}");
        why.Output.Should().StartWith("Service default/outside has no address: the controller said \"").And.Contain(taken).And.Contain("sample-web").And.Contain("1 pool(s) exist, 1 ready");

        (await Kubectl("create", "service", "clusterip", "plain", "--tcp=80")).ExitCode.Should().Be(0);
        (await Kubectl("ipvs", "why", "svc/plain")).Output.Should().Contain("is of type ClusterIP: only a Service of type LoadBalancer gets an address");
        var missing = await Kubectl("ipvs", "status", "svc/nothing-here");
        missing.ExitCode.Should().Be(InspectCommand.NoSuchService);
        missing.Error.Should().Contain("Service default/nothing-here not found");
        (await Kubectl("ipvs", "why", "deploy/web")).Error.Should().Contain("'deploy/web' names no Service: give svc/NAME, service/NAME or NAME");

        await local.DisposeAsync();
        state.Delete(recursive: true);
    }
}
