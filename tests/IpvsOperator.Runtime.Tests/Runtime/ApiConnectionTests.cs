using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Runtime;

/// <summary>The connection the node agent makes without a k8s.Kubernetes: TLS to the configured CA only, its credentials, its name.</summary>
public class ApiConnectionTests : LocalClusterFixture
{
    private KubernetesClientConfiguration Configuration()
    {
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"kubeconfig-{Guid.NewGuid():N}");
        Server.WriteKubeconfig(file);
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task Reaches_the_server_with_its_token_and_writes_under_its_own_name()
    {
        using var connection = ApiConnection.Connect(Configuration(), "ipvs-operator-node");
        var namespaces = new EntityClient<V1Namespace>(connection);

        var created = await namespaces.CreateAsync(new V1Namespace { Metadata = new V1ObjectMeta { GenerateName = "conn-" } });

        created.Metadata.ManagedFields.Should().ContainSingle().Which.Manager.Should().Be("ipvs-operator-node", "the API server names the writer after the user agent");
        (await namespaces.GetAsync(null, created.Metadata.Name)).Should().NotBeNull();
    }

    [Test]
    public async Task A_server_whose_certificate_another_CA_signed_is_refused()
    {
        var configuration = Configuration();
        using var key = ECDsa.Create();
        using var stranger = new CertificateRequest("CN=not-the-cluster-ca", key, HashAlgorithmName.SHA256)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        configuration.SslCaCerts = [stranger];
        using var connection = ApiConnection.Connect(configuration, "test");

        var listing = () => new EntityClient<V1Namespace>(connection, Polly.ResiliencePipeline.Empty).ListAsync();

        await listing.Should().ThrowAsync<HttpRequestException>("only the configured CA vouches for the API server");
    }

    [Test]
    public void A_configuration_that_skips_TLS_verification_is_refused_with_what_to_do()
    {
        var configuration = Configuration();
        configuration.SkipTlsVerify = true;

        var connecting = () => ApiConnection.Connect(configuration, "test");

        connecting.Should().Throw<ArgumentException>().WithMessage("*insecure-skip-tls-verify*CA*");
    }

    [Test]
    public async Task A_wrong_token_is_refused_by_the_server()
    {
        var configuration = Configuration();
        configuration.AccessToken = "not-the-token";
        using var connection = ApiConnection.Connect(configuration, "test");

        var listing = () => new EntityClient<V1Namespace>(connection, Polly.ResiliencePipeline.Empty).ListAsync();

        (await listing.Should().ThrowAsync<ApiStatusException>()).Which.Code.Should().Be(System.Net.HttpStatusCode.Unauthorized);
    }
}
