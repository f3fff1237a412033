using IpvsOperator.Runtime.Hosting;
using System.Net;
using System.Text.Json.Nodes;
using IpvsOperator.Runtime.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Support;

/// <summary>An HTTPS admission webhook on loopback whose verdicts a test writes, with its own CA.</summary>
public sealed class WebhookTestServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private WebhookTestServer(WebApplication app, CertificateAuthority authority)
    {
        this.app = app;
        Authority = authority;
    }

    public CertificateAuthority Authority { get; }

    public int Port { get; private set; }

    public Uri Url => new($"https://localhost:{Port}/validate");

    public List<JsonObject> Requests { get; } = [];

    /// <summary>The verdict: null to allow, otherwise the denial message.</summary>
    public Func<JsonObject, string?> Decide { get; set; } = _ => null;

    /// <summary>A denial's whole Status, as the test writes it (a code or none, causes): when it returns one, it overrides <see cref="Decide"/>.</summary>
    public Func<JsonObject, JsonObject?> DenyWith { get; set; } = _ => null;

    public TimeSpan Delay { get; set; }

    /// <param name="authority">The CA that signs its serving certificate (the server owns it from then on); a new one if none.</param>
    public static async Task<WebhookTestServer> StartAsync(string[]? dnsNames = null, CertificateAuthority? authority = null)
    {
        authority ??= CertificateAuthority.Create("webhook-test-ca", TimeSpan.FromHours(1));
        var certificate = authority.IssueServingCertificate(dnsNames ?? ["localhost"], TimeSpan.FromHours(1), [IPAddress.Loopback]);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
        var app = builder.Build();
        var server = new WebhookTestServer(app, authority);
        app.MapPost("/validate", (Delegate)server.HandleAsync);
        await app.StartAsync();
        server.Port = app.BoundAddress().Port;
        return server;
    }

    private async Task<IResult> HandleAsync(HttpContext context)
    {
        var review = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        var request = review["request"]!.AsObject();
        lock (Requests)
        {
            Requests.Add(request);
        }
        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay);
        }
        var denial = Decide(request);
        var status = DenyWith(request);
        var response = new JsonObject { ["uid"] = request["uid"]!.GetValue<string>(), ["allowed"] = denial is null && status is null };
        if (status is not null)
        {
            response["status"] = status;
        }
        else if (denial is not null)
        {
            response["status"] = new JsonObject { ["code"] = 403, ["reason"] = "Forbidden", ["message"] = denial };
        }
        return Results.Json(new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["response"] = response });
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        Authority.Dispose();
    }
}
