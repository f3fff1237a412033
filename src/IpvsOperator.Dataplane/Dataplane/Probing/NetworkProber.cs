using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;

namespace IpvsOperator.Dataplane.Probing;

/// <summary>
/// Probes from the node, as a load balancer's own checks do: tcp connects (and closes), http and
/// https send <c>GET path</c> with the endpoint as Host and judge the status line alone (the body is
/// never read, redirects are not followed). https does not verify the backend's certificate:
/// backends serve certificates for their names, not for pod addresses, as cloud load balancers
/// also assume. Connections are not kept: each probe is a new one, so a server that accepts but
/// hangs is caught.
/// </summary>
public sealed class NetworkProber : IProber, IDisposable
{
    private readonly HttpClient http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        MaxResponseHeadersLength = 16, // KiB: a status line is all that is judged
#pragma warning disable CA5359 // deliberate: a health check asks "does it answer", not "who is it" (see the summary); nothing is sent but GET path
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
#pragma warning restore CA5359
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    public async Task<ProbeResult> ProbeAsync(Probe probe, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(probe.Timeout);
        try
        {
            var failure = probe.Protocol == ProbeProtocol.Tcp
                ? await ConnectAsync(probe, deadline.Token)
                : await RequestAsync(probe, deadline.Token);
            return failure ?? ProbeResult.Ok(Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(ProbeFailure.Timeout, Stopwatch.GetElapsedTime(started), $"no answer within {probe.Timeout.TotalMilliseconds:F0} ms");
        }
        catch (Exception e) when (e is SocketException or HttpRequestException or IOException)
        {
            return new ProbeResult(Classify(e), Stopwatch.GetElapsedTime(started), Describe(e));
        }
    }

    private static async Task<ProbeResult?> ConnectAsync(Probe probe, CancellationToken cancellationToken)
    {
        using var socket = new Socket(probe.Address.ToIPAddress().AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(probe.Address.ToIPAddress(), probe.Port), cancellationToken);
        return null;
    }

    private async Task<ProbeResult?> RequestAsync(Probe probe, CancellationToken cancellationToken)
    {
        var scheme = probe.Protocol == ProbeProtocol.Https ? "https" : "http";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"{scheme}://{probe}{probe.Path}"));
        request.Headers.ConnectionClose = true;
        request.Headers.UserAgent.ParseAdd("ipvs-operator-health-check");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var status = (int)response.StatusCode;
        return status >= probe.ExpectedStatusFrom && status <= probe.ExpectedStatusTo
            ? null
            : new ProbeResult(ProbeFailure.Status, TimeSpan.Zero, $"HTTP {status}, expected {Expected(probe)}");
    }

    private static string Expected(Probe probe) =>
        probe.ExpectedStatusFrom == probe.ExpectedStatusTo ? $"{probe.ExpectedStatusFrom}" : $"{probe.ExpectedStatusFrom}-{probe.ExpectedStatusTo}";

    private static ProbeFailure Classify(Exception e) => e switch
    {
        _ when Find<AuthenticationException>(e) is not null => ProbeFailure.Tls,
        _ when Find<SocketException>(e) is { SocketErrorCode: SocketError.ConnectionRefused or SocketError.ConnectionReset } => ProbeFailure.Refused,
        _ => ProbeFailure.Error,
    };

    private static string Describe(Exception e) => Find<SocketException>(e)?.Message ?? Find<AuthenticationException>(e)?.Message ?? e.Message;

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }
        return null;
    }

    public void Dispose() => http.Dispose();
}
