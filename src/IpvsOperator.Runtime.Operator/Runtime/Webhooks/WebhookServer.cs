using System.Net;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using IpvsOperator.Runtime.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace IpvsOperator.Runtime.Webhooks;

/// <summary>Serves validators over HTTPS as AdmissionReview v1, each at the path its attribute names.</summary>
public sealed class WebhookServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private WebhookServer(WebApplication app) => this.app = app;

    /// <summary>The largest request read, in bytes.</summary>
    public const long MaxRequestBody = 3 * 1024 * 1024;

    /// <summary>A denial longer than this is cut: it is shown to the user and stored nowhere.</summary>
    public const int MaxMessageLength = 4096;

    public int Port { get; private set; }

    public static async Task<WebhookServer> StartAsync(ServedCertificate certificate, IEnumerable<IAdmissionValidator> validators, IPAddress bind, int port,
        ILogger logger, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            // The certificate of each handshake is the one served now: a renewal needs no restart.
            k.Listen(bind, port, listen => listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
            {
                ServerCertificateSelector = (_, _) => certificate.Current,
            }));
            // The API server sends an object and its old version, each at most 1.5 MB in etcd;
            // anything larger is not an AdmissionReview, whoever sends it.
            k.Limits.MaxRequestBodySize = MaxRequestBody;
        });
        var app = builder.Build();
        foreach (var validator in validators)
        {
            var registration = validator.GetType().GetCustomAttribute<ValidatingWebhookAttribute>()
                ?? throw new InvalidOperationException($"{validator.GetType().Name} has no [ValidatingWebhook] attribute");
            app.MapPost(registration.Path, (Delegate)((HttpContext context) => HandleAsync(context, registration.Path, validator, logger)));
        }
        await app.StartAsync(cancellationToken);
        var server = new WebhookServer(app);
        server.Port = app.BoundAddress().Port;
        return server;
    }

    private static async Task HandleAsync(HttpContext context, string path, IAdmissionValidator validator, ILogger logger)
    {
        using var timer = RuntimeMetrics.AdmissionDuration.WithLabels(path).NewTimer();
        // One parse into pooled memory; validators read the objects in place, so a large review is
        // not copied again (a JSON tree, its text, a second parse) before anyone looks at it.
        JsonDocument review;
        try
        {
            review = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException error)
        {
            RuntimeMetrics.AdmissionReviews.WithLabels(path, "malformed").Inc();
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"not an AdmissionReview: {error.Message}", context.RequestAborted);
            return;
        }
        using var disposeReview = review;
        var request = review.RootElement.ValueKind == JsonValueKind.Object && review.RootElement.TryGetProperty("request", out var r) && r.ValueKind == JsonValueKind.Object ? r : (JsonElement?)null;
        var uid = Text(request, "uid");
        AdmissionVerdict verdict;
        var failed = false;
        try
        {
            verdict = await validator.ValidateAsync(new AdmissionRequest(
                Text(request, "operation"), Text(request, "name"), Text(request, "namespace"),
                Object(request, "object"), Object(request, "oldObject")), context.RequestAborted);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // A validator that fails says so; failurePolicy decides what the API server does with it.
            logger.LogError(error, "{Validator} failed", validator.GetType().Name);
            verdict = AdmissionVerdict.Deny($"the webhook could not decide: {error.Message}");
            failed = true;
        }
        RuntimeMetrics.AdmissionReviews.WithLabels(path, failed ? "error" : verdict.Allowed ? "allowed" : "denied").Inc();
        var response = new JsonObject { ["uid"] = uid, ["allowed"] = verdict.Allowed };
        if (!verdict.Allowed)
        {
            var message = verdict.Message is { Length: > MaxMessageLength } tooLong ? string.Concat(tooLong.AsSpan(0, MaxMessageLength - 3), "...") : verdict.Message;
            response["status"] = new JsonObject { ["code"] = (int)HttpStatusCode.UnprocessableEntity, ["reason"] = "Invalid", ["message"] = message };
        }
        if (verdict.Warnings is { Count: > 0 } warnings)
        {
            response["warnings"] = new JsonArray([.. warnings.Select(w => (JsonNode)w)]);
        }
        await context.Response.WriteAsJsonAsync(new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["response"] = response }, context.RequestAborted);
    }

    private static string Text(JsonElement? request, string property) =>
        request is { } r && r.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;

    private static JsonElement? Object(JsonElement? request, string property) =>
        request is { } r && r.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
