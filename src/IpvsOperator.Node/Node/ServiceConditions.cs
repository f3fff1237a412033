using System.Globalization;
using System.Text.Json.Nodes;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Rbac;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// The conditions a node agent writes on Services' status, one type at a time and only where it
/// differs: conditions of other types (other writers') are never lost. Only the status is written:
/// the agent may not change any Service's spec or metadata (see docs/operations.md, Security). A
/// write that fails is logged and made on a later sync: callers are level-based.
/// </summary>
[GenericRbac(Resources = ["services/status"], Verbs = RbacVerb.Patch, Component = "node")]
internal sealed class ServiceConditions(ApiConnection api, ILogger logger, TimeProvider clock)
{
    private readonly EntityClient<V1Service> serviceClient = new(api);

    public static V1Condition? Find(V1Service service, string type) =>
        service.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    /// <summary>Makes the Service show the condition; no write when it shows it already.</summary>
    public async Task EnsureAsync(V1Service service, string type, string status, string reason, string message, CancellationToken cancellationToken)
    {
        var shown = Find(service, type);
        if (shown is not null && shown.Status == status && shown.Reason == reason && shown.Message == message)
        {
            return;
        }
        // As Kubernetes conditions go: the transition time moves only when the status does.
        var since = shown is not null && shown.Status == status ? shown.LastTransitionTime : clock.GetUtcNow().UtcDateTime;
        var condition = new JsonObject
        {
            ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message,
            ["lastTransitionTime"] = (since.Kind == DateTimeKind.Local ? since.ToUniversalTime() : since).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        // observedGeneration is the generation the condition was computed from; kube-apiserver gives
        // Services none, so there is none to observe (upstream's omitempty would drop a 0 anyway).
        if (service.Metadata.Generation is { } generation)
        {
            condition["observedGeneration"] = generation;
        }
        var patch = new JsonObject { ["status"] = new JsonObject { ["conditions"] = new JsonArray(condition) } }.ToJsonString();
        // Strategic merge: the conditions list merges by type, other writers' conditions stay.
        await WriteAsync(service, type, patch, PatchKind.Strategic, cancellationToken);
    }

    /// <summary>Takes the condition off the Service; no write when it does not show it.</summary>
    public async Task RemoveAsync(V1Service service, string type, CancellationToken cancellationToken)
    {
        if (Find(service, type) is null)
        {
            return;
        }
        // The list without ours, conditional on the version read: a condition another writer adds meanwhile is not lost.
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = service.Metadata.ResourceVersion },
            ["status"] = new JsonObject { ["conditions"] = ApiJson.ToNode(service.Status!.Conditions!.Where(c => c.Type != type).ToList()) },
        }.ToJsonString();
        if (await WriteAsync(service, type, patch, PatchKind.Merge, cancellationToken))
        {
            logger.LogInformation("Service {Namespace}/{Name}: condition {Type} removed", service.Metadata.NamespaceProperty, service.Metadata.Name, type);
        }
    }

    private async Task<bool> WriteAsync(V1Service service, string type, string patch, PatchKind kind, CancellationToken cancellationToken)
    {
        var (ns, name) = (service.Metadata.NamespaceProperty, service.Metadata.Name);
        try
        {
            await serviceClient.PatchAsync(ns, name, patch, kind, status: true, cancellationToken);
            return true;
        }
        catch (ApiStatusException error) when (error.IsNotFound || error.IsConflict)
        {
            // Gone or changed meanwhile: looked at again after the next sync.
        }
        catch (Exception error) when (error is HttpRequestException or ApiStatusException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("cannot write condition {Type} of Service {Namespace}/{Name}: {Error}; retried after the next sync", type, ns, name, error.Message);
        }
        return false;
    }
}
