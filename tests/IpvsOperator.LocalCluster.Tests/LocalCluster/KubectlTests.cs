using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>The real kubectl, as a user types it, against LocalCluster: an independent client.</summary>
public class KubectlTests : LocalClusterFixture
{
    private KubectlSession kubectl = null!;

    [OneTimeSetUp]
    public void StartKubectlSession() => kubectl = new KubectlSession(Server);

    [OneTimeTearDown]
    public void EndKubectlSession() => kubectl.Dispose();

    private Task<ProcessResult> Kubectl(params string[] arguments) => kubectl.RunAsync(arguments);

    private string WriteFile(string name, string content) => kubectl.WriteFile(name, content);

    [Test]
    public async Task A_Secrets_stringData_is_folded_into_data_and_never_stored_as_on_kube_apiserver()
    {
        var secret = WriteFile("secret.yaml", """
            apiVersion: v1
            kind: Secret
            metadata:
              name: bgp-password
              namespace: default
            data:
              password: b2xk
              kept: a2VwdA==
            stringData:
              password: s3cret
            """);
        var created = await Kubectl("create", "-f", secret);
        created.ExitCode.Should().Be(0, created.Error);
        async Task<JsonNode> ReadAsync() => JsonNode.Parse((await Kubectl("get", "secret", "bgp-password", "-o", "json")).Output)!;

        var stored = await ReadAsync();
        stored["stringData"].Should().BeNull("stringData is write-only");
        Encoding.UTF8.GetString(Convert.FromBase64String(stored["data"]!["password"]!.GetValue<string>())).Should().Be("s3cret", "stringData wins over data");
        stored["data"]!["kept"]!.GetValue<string>().Should().Be("a2VwdA==");
        stored["type"]!.GetValue<string>().Should().Be("Opaque", "the API server's default type");

        var patched = await Kubectl("patch", "secret", "bgp-password", "--type=merge", "-p", """{"stringData":{"password":"n3w"}}""");
        patched.ExitCode.Should().Be(0, patched.Error);
        stored = await ReadAsync();
        stored["stringData"].Should().BeNull();
        Encoding.UTF8.GetString(Convert.FromBase64String(stored["data"]!["password"]!.GetValue<string>())).Should().Be("n3w", "an update folds it too");
    }

    [Test]
    public async Task Kubectl_creates_gets_patches_watches_and_deletes()
    {
        var crds = await Kubectl("create", "-f", Path.Combine(RepositoryRoot.Path, "config", "crd", "bases"));
        crds.ExitCode.Should().Be(0, crds.Error);
        crds.Output.Should().Contain("customresourcedefinition.apiextensions.k8s.io/ippools.ipvsoperator.io created");

        var pool = WriteFile("pool.yaml", """
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata:
              name: lan
            spec:
              addresses: [192.0.2.0/28]
            """);
        var created = await Kubectl("create", "-f", pool);
        created.ExitCode.Should().Be(0, created.Error);
        created.Output.Trim().Should().Be("ippool.ipvsoperator.io/lan created");

        var json = await Kubectl("get", "ippool", "lan", "-o", "json");
        json.ExitCode.Should().Be(0, json.Error);
        var obj = JsonNode.Parse(json.Output)!;
        obj["spec"]!["autoAssign"]!.GetValue<bool>().Should().BeTrue("the schema default was applied");

        var table = await Kubectl("get", "ippools");
        table.ExitCode.Should().Be(0, table.Error);
        var lines = table.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().MatchRegex("^NAME +ADDRESSES +AUTO ASSIGN +READY +EXHAUSTED +IPV4 AVAILABLE +IPV6 AVAILABLE +AGE");
        lines[1].Should().StartWith("lan").And.Contain("192.0.2.0/28").And.Contain("true");

        using var watcher = StartWatch("get", "ippools", "-w", "--output-watch-events");
        await Eventually.TrueAsync(() => watcher.Output.Contains("ADDED", StringComparison.Ordinal), "the watch lists the pool");

        var patched = await Kubectl("patch", "ippool", "lan", "--type=merge", "-p", """{"spec":{"priority":3}}""");
        patched.ExitCode.Should().Be(0, patched.Error);
        patched.Output.Trim().Should().Be("ippool.ipvsoperator.io/lan patched");
        (await Kubectl("get", "ippool", "lan", "-o", "jsonpath={.spec.priority}")).Output.Should().Be("3");
        await Eventually.TrueAsync(() => watcher.Output.Contains("MODIFIED", StringComparison.Ordinal), "the watch shows the patch");

        var deleted = await Kubectl("delete", "ippool", "lan");
        deleted.ExitCode.Should().Be(0, deleted.Error);
        deleted.Output.Trim().Should().Be("ippool.ipvsoperator.io \"lan\" deleted");
        await Eventually.TrueAsync(() => watcher.Output.Contains("DELETED", StringComparison.Ordinal), "the watch shows the deletion");
        (await Kubectl("get", "ippool", "lan")).Error.Should().Contain("NotFound");
    }

    [Test]
    public async Task Kubectl_validation_is_left_to_the_server_and_is_strict()
    {
        (await Kubectl("apply", "-f", Path.Combine(RepositoryRoot.Path, "config", "crd", "bases"))).ExitCode.Should().Be(0);
        var bad = WriteFile("bad.yaml", """
            apiVersion: ipvsoperator.io/v1alpha1
            kind: IPPool
            metadata:
              name: typo
            spec:
              addresses: [192.0.2.0/28]
              autoAsign: false
            """);

        var refused = await Kubectl("create", "-f", bad);

        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("unknown field \"spec.autoAsign\"");
    }

    private BackgroundProcess StartWatch(params string[] arguments) =>
        new("kubectl", kubectl.Arguments(arguments));

    /// <summary>A long-running process whose output is collected as it comes.</summary>
    private sealed class BackgroundProcess : IDisposable
    {
        private readonly Process process;
        private readonly StringBuilder output = new();

        public BackgroundProcess(string fileName, IEnumerable<string> arguments)
        {
            var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }
            process = Process.Start(start)!;
            process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (output)
                {
                    return output.ToString();
                }
            }
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            process.Dispose();
        }
    }
}
