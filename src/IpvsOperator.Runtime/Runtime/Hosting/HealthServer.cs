using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>
/// /healthz, /readyz and /metrics of a component, on a port of their own: what kubelet probes and
/// Prometheus scrapes. Each probe answers 200 with its text, or 503 when it returns null.
/// </summary>
public sealed class HealthServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private HealthServer(WebApplication app) => this.app = app;

    /// <summary>The port bound (the one asked for, or the one taken when 0 was asked).</summary>
    public int Port { get; private set; }

    /// <param name="registries">
    /// The metrics of the components this process runs; the process's own (CPU, memory, GC) come from
    /// the default registry and are served too.
    /// </param>
    public static async Task<HealthServer> StartAsync(IPAddress bind, int port, Func<string?> healthz, Func<string?> readyz,
        IReadOnlyList<CollectorRegistry> registries, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(bind, port));
        var app = builder.Build();
        app.MapGet("/healthz", () => Answer(healthz()));
        app.MapGet("/readyz", () => Answer(readyz()));
        app.MapGet("/metrics", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            foreach (var registry in registries.Prepend(Metrics.DefaultRegistry))
            {
                await registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
            }
        });
        await app.StartAsync(cancellationToken);
        return new HealthServer(app) { Port = app.BoundAddress().Port };
    }

    private static IResult Answer(string? text) => text is null ? Results.StatusCode(503) : Results.Text(text);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
    }
}
