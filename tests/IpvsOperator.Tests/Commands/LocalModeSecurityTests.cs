using System.Net;
using System.Net.Http.Headers;
using IpvsOperator.Commands;
using IpvsOperator.LocalCluster;
using IpvsOperator.Tests.Support;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Commands;

/// <summary>
/// Local mode lets no one else in: its kubeconfig lives in a directory only its user can write, is
/// readable by that user only, and is never read back by the components; LocalCluster answers only
/// requests that carry its token.
/// </summary>
public class LocalModeSecurityTests
{
    private static readonly string Samples = Path.Combine(RepositoryRoot.Path, "config", "samples");

    /// <summary>A kubeconfig that runs a program of an attacker's: it would leave <paramref name="marker"/> behind.</summary>
    private static string HostileKubeconfig(string marker) => $$$"""
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
        users:
        - name: u
          user:
            exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "touch {{{marker}}}"]}
        contexts: [{name: c, context: {cluster: c, user: u}}]
        current-context: c

        """;

    private static async Task<(LocalMode Mode, Task Running, CancellationTokenSource Stop)> StartAsync(string stateDirectory)
    {
        var mode = new LocalMode(new LocalModeOptions { StateDirectory = stateDirectory, SamplesDirectory = Samples }, NullLoggerFactory.Instance, TextWriter.Null);
        var stop = new CancellationTokenSource();
        var ready = new TaskCompletionSource();
        var running = Task.Run(() => mode.RunAsync(stop.Token, ready));
        await Task.WhenAny(ready.Task, running).WaitAsync(TimeSpan.FromSeconds(60));
        if (running.IsFaulted)
        {
            await running;
        }
        return (mode, running, stop);
    }

    [Test]
    public async Task A_state_directory_someone_else_could_write_is_refused_before_anything_runs()
    {
        var parent = Directory.CreateTempSubdirectory("local-hostile-");
        var state = Path.Combine(parent.FullName, "state");
        var marker = Path.Combine(parent.FullName, "ran");
        Directory.CreateDirectory(state);
        await File.WriteAllTextAsync(Path.Combine(state, "kubeconfig"), HostileKubeconfig(marker));
        File.SetUnixFileMode(state, (UnixFileMode)0b111_111_111);

        var open = await FluentActions.Awaiting(() => StartAsync(state)).Should().ThrowAsync<InvalidOperationException>();
        open.Which.Message.Should().Contain($"the state directory {state} can be written by other users (mode 777)");

        File.SetUnixFileMode(state, (UnixFileMode)0b111_000_000);
        if (Environment.UserName == "root")
        {
            // Another user's directory (as the attack: created first by someone else).
            (await Processes.RunAsync("chown", ["65534", state])).ExitCode.Should().Be(0);
            var foreign = await FluentActions.Awaiting(() => StartAsync(state)).Should().ThrowAsync<InvalidOperationException>();
            foreign.Which.Message.Should().Contain("belongs to user 65534, not to this user (0)");
        }
        File.Exists(marker).Should().BeFalse("the planted kubeconfig's program never ran");
        parent.Delete(recursive: true);
    }

    [Test]
    public async Task The_kubeconfig_is_its_owners_alone_a_planted_link_is_replaced_and_the_components_never_read_it_back()
    {
        var parent = Directory.CreateTempSubdirectory("local-kubeconfig-");
        var state = Path.Combine(parent.FullName, "state");
        var victim = Path.Combine(parent.FullName, "victim");
        var marker = Path.Combine(parent.FullName, "ran");
        await File.WriteAllTextAsync(victim, "untouched");
        Directory.CreateDirectory(state, (UnixFileMode)0b111_000_000);
        File.CreateSymbolicLink(Path.Combine(state, "kubeconfig"), victim);

        var (mode, running, stop) = await StartAsync(state);

        new FileInfo(mode.KubeconfigPath).LinkTarget.Should().BeNull("the link is replaced by the file, not followed");
        File.GetUnixFileMode(mode.KubeconfigPath).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        (await File.ReadAllTextAsync(victim)).Should().Be("untouched");
        (await File.ReadAllTextAsync(mode.KubeconfigPath)).Should().Contain($"token: {mode.Server!.Token}");

        // Swapped after the start: the components hold their configuration in memory and never run it.
        await File.WriteAllTextAsync(mode.KubeconfigPath, HostileKubeconfig(marker));
        using var client = mode.Server.CreateClient();
        await client.CoreV1.CreateNamespacedServiceAsync(new k8s.Models.V1Service
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "after-swap" },
            Spec = new k8s.Models.V1ServiceSpec { Type = "LoadBalancer", Ports = [new k8s.Models.V1ServicePort { Port = 8443 }] },
        }, "default");
        await Eventually.TrueAsync(() => mode.Node!.Dataplane!.Ipvs.ListServices().Any(s => s.Key.Port == 8443), "the Service is served as before");
        File.Exists(marker).Should().BeFalse("nothing read the swapped kubeconfig");

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        parent.Delete(recursive: true);
    }

    [Test]
    public async Task LocalCluster_answers_only_requests_with_its_token()
    {
        await using var server = await LocalClusterServer.StartAsync();
        using var http = server.CreateHttpClient(token: string.Empty);
        async Task<HttpStatusCode> GetAsync(string path, string? token)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            using var response = await http.SendAsync(request);
            return response.StatusCode;
        }

        server.Address.Scheme.Should().Be("https", "kubectl sends a token only over TLS");
        (await GetAsync("/api/v1/namespaces", null)).Should().Be(HttpStatusCode.Unauthorized);
        (await GetAsync("/api/v1/secrets", "localcluster")).Should().Be(HttpStatusCode.Unauthorized, "a guessed token is no token");
        (await GetAsync("/version", null)).Should().Be(HttpStatusCode.Unauthorized);
        (await GetAsync("/healthz", null)).Should().Be(HttpStatusCode.OK, "health is public, as upstream");
        (await GetAsync("/api/v1/namespaces", server.Token)).Should().Be(HttpStatusCode.OK);
        server.Token.Should().HaveLength(64, "32 random bytes, new at every start");
        await using var another = await LocalClusterServer.StartAsync();
        another.Token.Should().NotBe(server.Token);
    }
}
