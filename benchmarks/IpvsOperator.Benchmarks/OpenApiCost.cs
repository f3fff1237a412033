using System.Diagnostics;
using IpvsOperator.LocalCluster;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// What the descriptions of the built-in types (read from KubernetesClient's documentation, issue 35)
/// cost LocalCluster: the first OpenAPI v3 document of the core group (which reads them), the next
/// ones, the document's size, and the managed heap kept. Run it again with
/// <c>NUGET_PACKAGES=/nonexistent</c> for the same without descriptions.
/// Run: <c>dotnet run -c Release --project benchmarks/IpvsOperator.Benchmarks -- openapi</c>.
/// </summary>
internal static class OpenApiCost
{
    private const int Repeats = 20;

    public static async Task RunAsync()
    {
        await using var server = await LocalClusterServer.StartAsync();
        using var http = server.CreateHttpClient();
        await http.GetStringAsync("/api"); // connection and JIT of the request path, not of the document
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        var first = Stopwatch.StartNew();
        var document = await http.GetStringAsync("/openapi/v3/api/v1");
        first.Stop();
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var next = new List<double>();
        for (var i = 0; i < Repeats; i++)
        {
            var one = Stopwatch.StartNew();
            await http.GetStringAsync("/openapi/v3/api/v1");
            next.Add(one.Elapsed.TotalMilliseconds);
        }
        next.Sort();

        Console.WriteLine("| descriptions | first /openapi/v3/api/v1 | median of the next 20 | document | heap kept |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine($"| {(document.Contains("Service is a named abstraction", StringComparison.Ordinal) ? "yes" : "no")} | {first.Elapsed.TotalMilliseconds:F0} ms | {next[Repeats / 2]:F0} ms | {document.Length / 1024} KiB | {(heapAfter - heapBefore) / 1048576.0:F1} MiB |");
    }
}
