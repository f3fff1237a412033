using System.Text.Json;
using System.Text.Json.Nodes;
using IpvsOperator.Entities;
using IpvsOperator.Migration;
using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace IpvsOperator.Commands;

/// <summary>
/// MetalLB's configuration as a cluster holds it: the objects of its namespace (each kind at the
/// newest version the cluster serves), the password Secrets its BGPPeers name, the LoadBalancer
/// Services whose addresses it gave, and the claims IpvsOperator already holds. Read-only.
/// </summary>
internal sealed class MetalLBClusterReader(IKubernetes kubernetes, string metallbNamespace)
{
    /// <summary>How messages name an object read here: <c>cluster (IPAddressPool metallb-system/prod)</c>.</summary>
    public const string Source = "cluster";

    /// <summary>Each kind with the versions to try, newest first: BGPPeer is served at v1beta2 since MetalLB 0.13, v1beta1 before.</summary>
    private static readonly (string Plural, string[] Versions)[] Kinds =
    [
        ("ipaddresspools", ["v1beta1"]),
        ("l2advertisements", ["v1beta1"]),
        ("bgpadvertisements", ["v1beta1"]),
        ("bgppeers", ["v1beta2", "v1beta1"]),
        ("bfdprofiles", ["v1beta1"]),
        ("communities", ["v1beta1"]),
    ];

    public async Task<IReadOnlyList<MetalLBObject>> ObjectsAsync(CancellationToken cancellationToken)
    {
        var objects = new List<MetalLBObject>();
        foreach (var (plural, versions) in Kinds)
        {
            foreach (var version in versions)
            {
                var items = await ListAsync(version, plural, cancellationToken);
                if (items is null)
                {
                    continue; // not served at this version (or MetalLB's CRD is not installed): try the next
                }
                objects.AddRange(items.Select(item => MetalLBDocuments.Object(Source, 0, item)));
                break;
            }
        }
        return objects;
    }

    /// <summary>The Secret a BGPPeer's passwordSecret names, or null when it does not exist.</summary>
    public async Task<V1Secret?> SecretAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await kubernetes.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Every Service of type LoadBalancer, in every namespace.</summary>
    public async Task<IReadOnlyList<V1Service>> LoadBalancersAsync(CancellationToken cancellationToken)
    {
        var services = new List<V1Service>();
        string? next = null;
        do
        {
            var page = await kubernetes.CoreV1.ListServiceForAllNamespacesAsync(continueParameter: next, limit: 500, cancellationToken: cancellationToken);
            services.AddRange(page.Items.Where(s => s.Spec?.Type == "LoadBalancer"));
            next = page.Metadata?.ContinueProperty;
        }
        while (!string.IsNullOrEmpty(next));
        return services;
    }

    /// <summary>
    /// The claims IpvsOperator already holds (its controller's, or an earlier <c>--apply</c>'s): the
    /// Services they name are served already, not MetalLB's to migrate. None when IpvsOperator's CRDs are not installed yet.
    /// </summary>
    public async Task<IReadOnlyList<V1Alpha1IPAllocation>> ClaimsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await new EntityClient<V1Alpha1IPAllocation>(kubernetes).ListAllAsync(cancellationToken: cancellationToken)).Items;
        }
        catch (ApiStatusException error) when (error.IsNotFound)
        {
            return [];
        }
    }

    private async Task<List<JsonObject>?> ListAsync(string version, string plural, CancellationToken cancellationToken)
    {
        object list;
        try
        {
            list = await kubernetes.CustomObjects.ListNamespacedCustomObjectAsync(MetalLBObject.Group, version, metallbNamespace, plural, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        var json = list is JsonElement element ? JsonNode.Parse(element.GetRawText()) : JsonNode.Parse(KubernetesJson.Serialize(list));
        var items = (json?["items"] as JsonArray ?? []).OfType<JsonObject>().Select(item => (JsonObject)item.DeepClone()).ToList();
        foreach (var item in items)
        {
            // A list's items carry no apiVersion and kind of their own on every server; the list says what they are.
            item["apiVersion"] ??= $"{MetalLBObject.Group}/{version}";
            item["kind"] ??= json?["kind"]?.GetValue<string>() is { } listKind && listKind.EndsWith("List", StringComparison.Ordinal) ? listKind[..^4] : null;
        }
        return items;
    }
}
