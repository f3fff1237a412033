using IpvsOperator.LocalCluster;

namespace IpvsOperator.Tests.Support;

/// <summary>
/// The real kubectl against a LocalCluster, as a user runs it: its own kubeconfig and cache in a
/// directory of its own, removed on dispose; manifests written there or piped in on stdin.
/// </summary>
public sealed class KubectlSession : IDisposable
{
    private readonly string directory;
    private readonly string kubeconfig;

    /// <param name="token">Whom kubectl runs as (default: the administrator).</param>
    public KubectlSession(LocalClusterServer server, string? token = null)
    {
        directory = Directory.CreateTempSubdirectory("kubectl-").FullName;
        kubeconfig = server.WriteKubeconfig(Path.Combine(directory, "kubeconfig"), token);
    }

    public Task<ProcessResult> RunAsync(params string[] arguments) => RunWithInputAsync(null, arguments);

    /// <summary>kubectl with <paramref name="input"/> on stdin (for <c>-f -</c>).</summary>
    public Task<ProcessResult> RunWithInputAsync(string? input, params string[] arguments) =>
        Processes.RunAsync("kubectl", Arguments(arguments), TimeSpan.FromSeconds(60), input);

    /// <summary>The arguments that run kubectl in this session (for a long-running kubectl such as a watch).</summary>
    public IEnumerable<string> Arguments(params string[] arguments) => ["--kubeconfig", kubeconfig, "--cache-dir", Path.Combine(directory, "cache"), .. arguments];

    /// <summary>Writes a file in the session's directory; its path.</summary>
    public string WriteFile(string name, string content)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose() => Directory.Delete(directory, recursive: true);
}
