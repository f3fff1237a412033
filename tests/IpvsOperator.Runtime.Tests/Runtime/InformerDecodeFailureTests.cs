using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Watching;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Runtime;

/// <summary>
/// An object that does not read as its type (a Service whose selector value is <c>true</c>) is
/// skipped, named in the log and counted, and the informer goes on past it. Served by a stub of the
/// API server rather than LocalCluster, which may refuse to store such an object.
/// </summary>
public class InformerDecodeFailureTests
{
    private static string Service(string name, string resourceVersion, string selectorValue = "\"web\"") =>
        $$$"""{"apiVersion":"v1","kind":"Service","metadata":{"name":"{{{name}}}","namespace":"shop","resourceVersion":"{{{resourceVersion}}}"},"spec":{"selector":{"app":{{{selectorValue}}}},"ports":[{"port":80}]}}""";

    private static string Event(string type, string obj) => $$$"""{"type":"{{{type}}}","object":{{{obj}}}}""";

    [Test]
    public async Task An_undecodable_object_is_skipped_named_and_counted_and_the_objects_around_it_keep_flowing()
    {
        // The list holds one undecodable Service; the watch turns a cached one undecodable, then deletes it, with good ones between.
        var list = $$$"""{"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"3"},"items":[{{{Service("a", "1")}}},{{{Service("broken", "2", "true")}}},{{{Service("turns-bad", "3")}}}]}""";
        string[] watch =
        [
            Event("ADDED", Service("b", "4")),
            Event("MODIFIED", Service("turns-bad", "5", "true")),
            Event("ADDED", Service("c", "6")),
            Event("DELETED", Service("turns-bad", "7", "true")),
            Event("ADDED", Service("d", "8")),
        ];
        await using var server = await StubApiServer.StartAsync(list, watch);
        using var connection = ApiConnection.Connect(new KubernetesClientConfiguration { Host = server.Address }, "test");
        using var logs = new CollectingLoggerProvider();
        var failuresBefore = WatchMetrics.DecodeFailures.WithLabels("services").Value;
        var informer = new Informer<V1Service>(new EntityClient<V1Service>(connection, Polly.ResiliencePipeline.Empty), logs.Factory.CreateLogger("informer"));
        var deleted = new ConcurrentQueue<string>();
        informer.Subscribe(e =>
        {
            if (e.Type == InformerEventType.Deleted)
            {
                deleted.Enqueue(e.Entity.Metadata.Name);
            }
        });
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);

        string Cached() => string.Join(",", informer.Items.Select(s => s.Metadata.Name).Order(StringComparer.Ordinal));
        await Eventually.TrueAsync(() => Cached() == "a,b,c,d" && informer.LastResourceVersion == "8",
            () => $"every readable Service is cached and the undecodable one is gone once deleted; cached [{Cached()}] at {informer.LastResourceVersion}; watched from [{string.Join(",", server.WatchedFrom)}]");

        deleted.Should().Equal(["turns-bad"], "its deletion is seen, with its last readable state");
        // The first watch ends after its last event; the informer watches again, and may not have yet when the cache is complete.
        await Eventually.TrueAsync(() => server.WatchedFrom.Count >= 2,
            () => $"the informer watches again after the first watch ends; watched from [{string.Join(",", server.WatchedFrom)}]");
        server.WatchedFrom.Should().Equal(["3", "8"], "no watch started again before an event already seen: nothing is replayed");
        var errors = logs.Entries.Where(e => e.Level == LogLevel.Error).Select(e => e.Message).ToList();
        errors.Should().Contain(m => m.Contains("Service shop/broken", StringComparison.Ordinal), "the log names what could not be read")
            .And.Contain(m => m.Contains("Service shop/turns-bad", StringComparison.Ordinal) && m.Contains("resourceVersion 5", StringComparison.Ordinal));
        (WatchMetrics.DecodeFailures.WithLabels("services").Value - failuresBefore).Should().Be(3, "the listed, the modified and the deleted undecodable objects are counted");

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>
    /// Answers the list with <c>list</c>; the first watch gets <c>watch</c> and ends, every later one is held open
    /// (as a quiet server's is) until the stub stops. Keeps the resourceVersion each watch started from.
    /// </summary>
    private sealed class StubApiServer : IAsyncDisposable
    {
        private readonly HttpListener listener = new();
        private readonly CancellationTokenSource stop = new();
        private readonly string list;
        private readonly string[] watch;
        private Task serving = Task.CompletedTask;

        private StubApiServer(string list, string[] watch, int port)
        {
            this.list = list;
            this.watch = watch;
            Address = $"http://127.0.0.1:{port}/";
            listener.Prefixes.Add(Address);
        }

        public string Address { get; }

        public ConcurrentQueue<string> WatchedFrom { get; } = new();

        public static Task<StubApiServer> StartAsync(string list, string[] watch)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var server = new StubApiServer(list, watch, port);
            server.listener.Start();
            server.serving = server.ServeAsync();
            return Task.FromResult(server);
        }

        private async Task ServeAsync()
        {
            var answering = new List<Task>();
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync().WaitAsync(stop.Token);
                }
                catch (Exception error) when (error is OperationCanceledException or HttpListenerException or ObjectDisposedException)
                {
                    break;
                }
                answering.Add(AnswerAsync(context));
            }
            await Task.WhenAll(answering);
        }

        private async Task AnswerAsync(HttpListenerContext context)
        {
            var response = context.Response;
            response.ContentType = "application/json";
            try
            {
                if (context.Request.QueryString["watch"] != "true")
                {
                    var body = Encoding.UTF8.GetBytes(list);
                    await response.OutputStream.WriteAsync(body, stop.Token);
                    return;
                }
                WatchedFrom.Enqueue(context.Request.QueryString["resourceVersion"] ?? string.Empty);
                response.SendChunked = true;
                if (WatchedFrom.Count == 1)
                {
                    foreach (var line in watch)
                    {
                        await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), stop.Token);
                        await response.OutputStream.FlushAsync(stop.Token);
                    }
                    return;
                }
                await response.OutputStream.FlushAsync(stop.Token);
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (Exception error) when (error is OperationCanceledException or HttpListenerException or IOException)
            {
                // Stopping, or the client went away.
            }
            finally
            {
                try
                {
                    response.Close();
                }
                catch (Exception error) when (error is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    // The client is gone already.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
            listener.Close();
            stop.Dispose();
        }
    }
}
