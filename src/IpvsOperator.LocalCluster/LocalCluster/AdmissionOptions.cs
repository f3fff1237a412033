using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The <c>options</c> of an AdmissionReview request, as kube-apiserver sends them: the
/// CreateOptions, UpdateOptions (a patch's too) or DeleteOptions of the request, its dry run included.
/// </summary>
internal static class AdmissionOptions
{
    public static JsonObject Create(WriteOptions options) => Write("CreateOptions", options);

    public static JsonObject Update(WriteOptions options) => Write("UpdateOptions", options);

    public static JsonObject Delete(JsonObject? deleteOptions, bool dryRun)
    {
        var sent = deleteOptions?.DeepClone() as JsonObject ?? [];
        sent["apiVersion"] = "meta.k8s.io/v1";
        sent["kind"] = "DeleteOptions";
        if (dryRun)
        {
            sent["dryRun"] = new JsonArray("All");
        }
        return sent;
    }

    private static JsonObject Write(string kind, WriteOptions options)
    {
        var sent = new JsonObject { ["apiVersion"] = "meta.k8s.io/v1", ["kind"] = kind, ["fieldManager"] = options.FieldManager };
        if (options.DryRun)
        {
            sent["dryRun"] = new JsonArray("All");
        }
        return sent;
    }
}
