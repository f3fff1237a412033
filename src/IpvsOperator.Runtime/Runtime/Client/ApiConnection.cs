using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using k8s;
using k8s.Authentication;

namespace IpvsOperator.Runtime.Client;

/// <summary>
/// How requests reach the API server: the base address, the HttpClient, and the credentials added
/// to each request (a bearer token, the ServiceAccount token re-read from its file as it rotates,
/// basic auth). Either a KubernetesClient's own (<see cref="Of"/>), or made from a configuration
/// without one (<see cref="Connect"/>): a <c>k8s.Kubernetes</c> roots the JSON metadata of every API
/// type in a Native AOT build (20 MiB of RSS measured, docs/benchmarks.md), where the runtime needs
/// only this.
/// </summary>
public sealed class ApiConnection : IDisposable
{
    private readonly ServiceClientCredentials? credentials;
    private readonly bool ownsHttp;

    private ApiConnection(HttpClient http, Uri baseUri, ServiceClientCredentials? credentials, bool ownsHttp)
    {
        Http = http;
        BaseUri = new Uri(baseUri.ToString().TrimEnd('/') + "/");
        this.credentials = credentials;
        this.ownsHttp = ownsHttp;
    }

    public HttpClient Http { get; }

    /// <summary>The server's address, ending in a slash: API paths are relative to it.</summary>
    public Uri BaseUri { get; }

    /// <summary>The connection of a KubernetesClient: its HttpClient, and the credentials it adds per request (not in its HttpClient).</summary>
    public static ApiConnection Of(IKubernetes kubernetes)
    {
        var client = kubernetes as Kubernetes ?? throw new ArgumentException("the runtime needs a k8s.Kubernetes client", nameof(kubernetes));
        return new ApiConnection(client.HttpClient, client.BaseUri, client.Credentials, ownsHttp: false);
    }

    /// <summary>A connection of our own, as <c>k8s.Kubernetes</c> would make it from <paramref name="config"/>.</summary>
    /// <param name="userAgent">Who is calling: the API server's audit log shows it, and managedFields name it as the manager of what it writes.</param>
    public static ApiConnection Connect(KubernetesClientConfiguration config, string userAgent)
    {
        if (string.IsNullOrWhiteSpace(config.Host) || !Uri.TryCreate(config.Host, UriKind.Absolute, out var host))
        {
            throw new ArgumentException($"the configuration's host '{config.Host}' is not an absolute URL", nameof(config));
        }
        var handler = new SocketsHttpHandler
        {
            // As KubernetesClient's: pings keep a long watch from being cut by a middlebox that drops idle connections.
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            KeepAlivePingDelay = TimeSpan.FromMinutes(3),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            EnableMultipleHttp2Connections = true,
        };
        if (host.Scheme == Uri.UriSchemeHttps)
        {
            if (!string.IsNullOrEmpty(config.TlsServerName))
            {
                handler.SslOptions.TargetHost = config.TlsServerName;
            }
            if (config.SkipTlsVerify)
            {
                throw new ArgumentException("the configuration skips verifying the API server's certificate (insecure-skip-tls-verify); give it the cluster's CA instead", nameof(config));
            }
            if (config.SslCaCerts is { Count: > 0 } authorities)
            {
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => Trusted(certificate, errors, authorities);
            }
            if (ClientCertificate(config) is { } clientCertificate)
            {
                handler.SslOptions.ClientCertificates = [clientCertificate];
                handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate;
            }
        }
        var http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan }; // each call bounds its own wait; a watch runs for minutes
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue(userAgent, typeof(ApiConnection).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"));
        ServiceClientCredentials? credentials =
            config.TokenProvider is { } tokens ? new TokenCredentials(tokens) // the in-cluster token file, re-read as the kubelet rotates it
            : !string.IsNullOrEmpty(config.AccessToken) ? new TokenCredentials(config.AccessToken)
            : !string.IsNullOrEmpty(config.Username) ? new BasicAuthenticationCredentials { UserName = config.Username, Password = config.Password }
            : null;
        return new ApiConnection(http, host, credentials, ownsHttp: true);
    }

    public Task AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        credentials?.ProcessHttpRequestAsync(request, cancellationToken) ?? Task.CompletedTask;

    public void Dispose()
    {
        if (ownsHttp)
        {
            Http.Dispose();
        }
    }

    /// <summary>The client certificate and key of a kubeconfig's user, inline (base64 PEM) or in files; null when it has none.</summary>
    private static X509Certificate2? ClientCertificate(KubernetesClientConfiguration config)
    {
        var certificate = !string.IsNullOrEmpty(config.ClientCertificateData) ? Encoding.UTF8.GetString(Convert.FromBase64String(config.ClientCertificateData))
            : !string.IsNullOrEmpty(config.ClientCertificateFilePath) ? File.ReadAllText(config.ClientCertificateFilePath)
            : null;
        var key = !string.IsNullOrEmpty(config.ClientCertificateKeyData) ? Encoding.UTF8.GetString(Convert.FromBase64String(config.ClientCertificateKeyData))
            : !string.IsNullOrEmpty(config.ClientKeyFilePath) ? File.ReadAllText(config.ClientKeyFilePath)
            : null;
        return certificate is null || key is null ? null : X509Certificate2.CreateFromPem(certificate, key);
    }

    /// <summary>The server's certificate chains up to one of the configured authorities, and to nothing else.</summary>
    private static bool Trusted(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection authorities)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
        {
            return false; // a name mismatch or no certificate: no authority makes that right
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
