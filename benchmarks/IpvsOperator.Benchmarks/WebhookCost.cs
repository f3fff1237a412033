using System.Diagnostics;
using System.Net;
using System.Text;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Generation;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Webhooks;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// What one IPPool AdmissionReview costs the webhook server, end to end: HTTPS, JSON, the
/// validator against 100 existing pools, the reply. Sent straight to the webhook port, as a pod
/// that reached it would (the API server would refuse the larger ones itself). Prints time per
/// review, bytes allocated per review (the whole process: server, validator, the in-process API
/// server it lists pools from, the client) and the process's peak working set.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- webhook</c>.
/// </summary>
internal static class WebhookCost
{
    private const int Rounds = 20;

    public static async Task RunAsync()
    {
        await using var cluster = await LocalClusterServer.StartAsync();
        using var client = cluster.CreateClient();
        foreach (var entity in new[] { typeof(V1Alpha1IPPool), typeof(V1Alpha1IPAllocation) })
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(CrdGenerator.Generate(entity));
        }
        var pools = new EntityClient<V1Alpha1IPPool>(client);
        for (var i = 0; i < 100; i++)
        {
            await pools.CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = $"other-{i}" }, Spec = new IPPoolSpec { Addresses = [$"10.{i}.0.0/16"] } });
        }
        using var authority = CertificateAuthority.Create("bench", TimeSpan.FromDays(1));
        using var certificate = authority.IssueServingCertificate(["localhost"], TimeSpan.FromDays(1), [IPAddress.Loopback]);
        await using var server = await WebhookServer.StartAsync(new ServedCertificate(certificate),
            [new PoolValidator(pools, new EntityClient<V1Alpha1IPAllocation>(client), new EntityClient<V1Service>(client), new EntityClient<V1Namespace>(client))],
            IPAddress.Loopback, 0, NullLogger.Instance, CancellationToken.None);
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        var url = new Uri($"https://127.0.0.1:{server.Port}/validate-ippool");

        var maxEntries = (int)((WebhookServer.MaxRequestBody - 400) / "\"198.51.100.7\",".Length);
        var cases = new (string Name, string[] Entries)[]
        {
            ($"{IPPoolSpec.MaxAddresses:N0} distinct entries (the largest valid pool)", [.. Enumerable.Range(0, IPPoolSpec.MaxAddresses).Select(i => $"172.16.{i / 256}.{i % 256}")]),
            ($"{IPPoolSpec.MaxAddresses:N0} copies of one address", [.. Enumerable.Repeat("198.51.100.7", IPPoolSpec.MaxAddresses)]),
            ($"{IPPoolSpec.MaxAddresses:N0} entries inside other pools", [.. Enumerable.Range(0, IPPoolSpec.MaxAddresses).Select(i => $"10.{i / 256 % 100}.{i % 256}.1")]),
            ($"{maxEntries:N0} copies of one address (a 3 MiB body)", [.. Enumerable.Repeat("198.51.100.7", maxEntries)]),
        };

        Console.WriteLine("| review | body | verdict | median time | slowest | allocated per review | peak working set |");
        Console.WriteLine("|---|---:|---|---:|---:|---:|---:|");
        foreach (var (name, entries) in cases)
        {
            var body = Encoding.UTF8.GetBytes(Review(entries));
            var verdict = await SendAsync(http, url, body); // warm-up
            GC.Collect();
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var times = new List<double>();
            for (var round = 0; round < Rounds; round++)
            {
                var clock = Stopwatch.StartNew();
                await SendAsync(http, url, body);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            var allocated = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / Rounds;
            times.Sort();
            using var process = Process.GetCurrentProcess();
            Console.WriteLine($"| {name} | {body.Length / 1024.0 / 1024.0:F2} MiB | {verdict} | {times[Rounds / 2]:F1} ms | {times[^1]:F1} ms | {allocated / 1024.0 / 1024.0:F1} MiB | {process.PeakWorkingSet64 / 1024.0 / 1024.0:F0} MiB |");
        }
    }

    private static async Task<string> SendAsync(HttpClient http, Uri url, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var reply = await http.PostAsync(url, content);
        var response = System.Text.Json.Nodes.JsonNode.Parse(await reply.Content.ReadAsStringAsync())?["response"];
        return response?["allowed"]?.GetValue<bool>() == true ? "allowed" : $"denied ({(response?["status"]?["message"]?.GetValue<string>() ?? "?").Length} characters)";
    }

    private static string Review(IEnumerable<string> entries) =>
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\",\"name\":\"candidate\","
        + "\"object\":{\"apiVersion\":\"ipvsoperator.io/v1alpha1\",\"kind\":\"IPPool\",\"metadata\":{\"name\":\"candidate\"},\"spec\":{\"addresses\":["
        + string.Join(",", entries.Select(e => $"\"{e}\"")) + "]}}}}";
}
