using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Probing;

namespace IpvsOperator.Tests.Dataplane.Probing;

/// <summary>The real probes, against servers on loopback that answer, refuse, hang or fail as the test says.</summary>
public class NetworkProberTests
{
    private static readonly Probe Tcp = new(ProbeProtocol.Tcp, IPAddressValue.Parse("127.0.0.1"), 0, "/", 200, 399, TimeSpan.FromSeconds(2));
    private static readonly Probe Http = Tcp with { Protocol = ProbeProtocol.Http, Path = "/healthz?deep=1" };

    private static Probe Loopback(int port, Probe probe) => probe with { Port = (ushort)port };

    /// <summary>A one-shot-per-connection server: reads the request head, then answers with the given status, or never.</summary>
    private sealed class TestServer : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new();
        private readonly Task serving;
        public List<string> Requests { get; } = [];

        public TestServer(int? status, X509Certificate2? certificate = null, bool answerAtOnce = false)
        {
            listener.Start();
            serving = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    TcpClient client;
                    try
                    {
                        client = await listener.AcceptTcpClientAsync(stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            Stream stream = client.GetStream();
                            if (certificate is not null)
                            {
                                var tls = new SslStream(stream);
                                await tls.AuthenticateAsServerAsync(certificate);
                                stream = tls;
                            }
                            if (answerAtOnce)
                            {
                                // What a plain HTTP server says to a TLS handshake.
                                await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                                return;
                            }
                            var head = new StringBuilder();
                            var buffer = new byte[1];
                            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(buffer) == 1)
                            {
                                head.Append((char)buffer[0]);
                            }
                            lock (Requests)
                            {
                                Requests.Add(head.ToString());
                            }
                            if (status is null)
                            {
                                await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default); // accepts, never answers
                                return;
                            }
                            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
                        }
                    });
                }
            });
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            await serving;
            stop.Dispose();
        }
    }

    [Test]
    public async Task A_tcp_check_passes_on_a_listening_port_and_fails_refused_on_a_closed_one()
    {
        using var prober = new NetworkProber();
        await using (var server = new TestServer(200))
        {
            (await prober.ProbeAsync(Loopback(server.Port, Tcp), CancellationToken.None)).Healthy.Should().BeTrue();
        }
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var refused = await prober.ProbeAsync(Loopback(port, Tcp), CancellationToken.None);
        refused.Failure.Should().Be(ProbeFailure.Refused);
        refused.Detail.Should().Contain("refused");
    }

    [Test]
    public async Task An_http_check_sends_GET_of_its_path_and_judges_the_status()
    {
        using var prober = new NetworkProber();
        await using var healthy = new TestServer(204);
        (await prober.ProbeAsync(Loopback(healthy.Port, Http), CancellationToken.None)).Healthy.Should().BeTrue();
        healthy.Requests.Should().ContainSingle().Which.Should().StartWith("GET /healthz?deep=1 HTTP/1.1\r\n")
            .And.Contain($"Host: 127.0.0.1:{healthy.Port}").And.Contain("User-Agent: ipvs-operator-health-check");

        await using var failing = new TestServer(503);
        var result = await prober.ProbeAsync(Loopback(failing.Port, Http), CancellationToken.None);
        result.Failure.Should().Be(ProbeFailure.Status);
        result.Detail.Should().Be("HTTP 503, expected 200-399");
        (await prober.ProbeAsync(Loopback(failing.Port, Http with { ExpectedStatusFrom = 503, ExpectedStatusTo = 503 }), CancellationToken.None)).Healthy.Should().BeTrue();
    }

    [Test]
    public async Task A_server_that_accepts_but_never_answers_fails_by_timeout_and_a_tcp_check_cannot_tell()
    {
        using var prober = new NetworkProber();
        await using var hung = new TestServer(status: null);
        var check = Http with { Timeout = TimeSpan.FromMilliseconds(300) };
        var result = await prober.ProbeAsync(Loopback(hung.Port, check), CancellationToken.None);
        result.Failure.Should().Be(ProbeFailure.Timeout);
        result.Detail.Should().Be("no answer within 300 ms");
        result.Latency.Should().BeLessThan(TimeSpan.FromSeconds(30), "the probe gives up at its timeout, not the client's default");
        (await prober.ProbeAsync(Loopback(hung.Port, Tcp), CancellationToken.None)).Healthy.Should().BeTrue("why the docs say to use http for servers that can hang");
    }

    [Test]
    public async Task An_https_check_accepts_the_backends_own_certificate_and_fails_as_tls_on_a_plain_server()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=backend.shop.svc", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1));
        using var exportable = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        using var prober = new NetworkProber();
        var https = Http with { Protocol = ProbeProtocol.Https };
        await using var tls = new TestServer(200, exportable);
        (await prober.ProbeAsync(Loopback(tls.Port, https), CancellationToken.None)).Healthy.Should().BeTrue();

        await using var plain = new TestServer(200, answerAtOnce: true);
        var result = await prober.ProbeAsync(Loopback(plain.Port, https), CancellationToken.None);
        result.Healthy.Should().BeFalse();
        result.Failure.Should().Be(ProbeFailure.Tls, result.Detail);
    }
}
