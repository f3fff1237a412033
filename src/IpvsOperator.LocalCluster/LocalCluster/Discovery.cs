using System.Globalization;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>The discovery and OpenAPI documents clients read before they act.</summary>
internal static class Discovery
{
    public const string KubernetesVersion = "v1.32.0";

    public static JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = KubernetesVersion + "+localcluster",
        ["gitCommit"] = "localcluster",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2026-01-01T00:00:00Z",
        ["goVersion"] = "none",
        ["compiler"] = "dotnet",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject CoreVersions(string address) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = address }),
    };

    public static JsonObject Groups(ResourceRegistry registry) => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray([.. registry.All.Where(r => r.Group.Length > 0).GroupBy(r => r.Group).Select(g => (JsonNode)Group(g.Key, g))]),
    };

    public static JsonObject Group(string name, IEnumerable<ApiResource> resources)
    {
        var versions = resources.Select(r => r.Version).Distinct().Select(v => (JsonNode)new JsonObject { ["groupVersion"] = $"{name}/{v}", ["version"] = v }).ToList();
        return new JsonObject
        {
            ["kind"] = "APIGroup",
            ["apiVersion"] = "v1",
            ["name"] = name,
            ["versions"] = new JsonArray([.. versions]),
            ["preferredVersion"] = versions[0]!.DeepClone(),
        };
    }

    /// <summary>The media type of aggregated discovery (apidiscovery.k8s.io/v2), which kubectl 1.30+ asks /api and /apis for first.</summary>
    public const string AggregatedMediaType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

    /// <summary>Whether the Accept header's first media type this server answers is aggregated discovery (else the per-group documents).</summary>
    public static bool WantsAggregated(string? accept)
    {
        foreach (var mediaType in (accept ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = mediaType.Split(';', StringSplitOptions.TrimEntries);
            var parameters = parts.Skip(1).Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            if (parts[0] != "application/json" && parts[0] != "*/*")
            {
                continue;
            }
            if (parameters.Count == 0)
            {
                return false;
            }
            if (parameters.GetValueOrDefault("g") == "apidiscovery.k8s.io" && parameters.GetValueOrDefault("v") == "v2" && parameters.GetValueOrDefault("as") == "APIGroupDiscoveryList")
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Aggregated discovery: every group (the core group alone for /api, the named ones for /apis)
    /// with its versions and their resources, verbs, short names and subresources, in one document,
    /// as kube-apiserver serves it to kubectl instead of one request per group version.
    /// </summary>
    public static JsonObject Aggregated(IEnumerable<ApiResource> resources) => new()
    {
        ["kind"] = "APIGroupDiscoveryList",
        ["apiVersion"] = "apidiscovery.k8s.io/v2",
        ["metadata"] = new JsonObject(),
        ["items"] = new JsonArray([.. resources.GroupBy(r => r.Group).Select(group => (JsonNode)new JsonObject
        {
            ["metadata"] = group.Key.Length == 0 ? new JsonObject() : new JsonObject { ["name"] = group.Key },
            ["versions"] = new JsonArray([.. group.GroupBy(r => r.Version).Select(version => (JsonNode)new JsonObject
            {
                ["version"] = version.Key,
                ["resources"] = new JsonArray([.. version.Select(r => (JsonNode)AggregatedResource(r))]),
                ["freshness"] = "Current",
            })]),
        })]),
    };

    private static JsonObject AggregatedResource(ApiResource resource)
    {
        JsonObject Kind() => new() { ["group"] = resource.Group, ["version"] = resource.Version, ["kind"] = resource.Kind };
        var discovered = new JsonObject
        {
            ["resource"] = resource.Plural,
            ["responseKind"] = Kind(),
            ["scope"] = resource.Namespaced ? "Namespaced" : "Cluster",
            ["singularResource"] = resource.Singular,
            ["verbs"] = Verbs(resource),
        };
        if (resource.ShortNames.Count > 0)
        {
            discovered["shortNames"] = new JsonArray([.. resource.ShortNames.Select(s => (JsonNode)s)]);
        }
        if (resource.HasStatus)
        {
            discovered["subresources"] = new JsonArray(new JsonObject { ["subresource"] = "status", ["responseKind"] = Kind(), ["verbs"] = new JsonArray("get", "patch", "update") });
        }
        return discovered;
    }

    private static JsonArray Verbs(ApiResource resource) =>
        resource.IsReview ? new JsonArray("create") : new JsonArray("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch");

    public static JsonObject Resources(string groupVersion, IEnumerable<ApiResource> resources)
    {
        var list = new JsonArray();
        foreach (var resource in resources)
        {
            list.Add(new JsonObject
            {
                ["name"] = resource.Plural,
                ["singularName"] = resource.Singular,
                ["namespaced"] = resource.Namespaced,
                ["kind"] = resource.Kind,
                ["verbs"] = Verbs(resource),
                ["shortNames"] = new JsonArray([.. resource.ShortNames.Select(s => (JsonNode)s)]),
            });
            if (resource.HasStatus)
            {
                list.Add(new JsonObject
                {
                    ["name"] = resource.Plural + "/status",
                    ["singularName"] = string.Empty,
                    ["namespaced"] = resource.Namespaced,
                    ["kind"] = resource.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
            }
        }
        return new JsonObject { ["kind"] = "APIResourceList", ["apiVersion"] = "v1", ["groupVersion"] = groupVersion, ["resources"] = list };
    }

    /// <summary>
    /// The OpenAPI v3 index. kubectl reads it before <c>create</c>: finding the
    /// <c>fieldValidation</c> parameter on a type's PATCH operation, it leaves validation to the
    /// server (<c>fieldValidation=Strict</c>) instead of validating on the client.
    /// </summary>
    public static JsonObject OpenApiIndex(ResourceRegistry registry)
    {
        var paths = new JsonObject();
        foreach (var group in registry.All.GroupBy(r => r.ApiVersion))
        {
            var path = GroupVersionPath(group.First());
            var hash = string.Join(",", group.Select(r => r.Plural)).GetHashCode(StringComparison.Ordinal).ToString("x8", CultureInfo.InvariantCulture);
            paths[path] = new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{path}?hash={hash}" };
        }
        return new JsonObject { ["paths"] = paths };
    }

    /// <summary>
    /// The OpenAPI v2 (Swagger) document some older clients and tools read: every served type's
    /// schema under <c>definitions</c>, with its group, version and kind.
    /// </summary>
    public static JsonObject OpenApiV2(ResourceRegistry registry)
    {
        var v3 = OpenApiDocument(registry.All.Where(r => !r.IsReview));
        return new JsonObject
        {
            ["swagger"] = "2.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes (LocalCluster)", ["version"] = KubernetesVersion },
            ["paths"] = new JsonObject(),
            ["definitions"] = v3["components"]!["schemas"]!.DeepClone(),
        };
    }

    public static string GroupVersionPath(ApiResource resource) => resource.Group.Length == 0 ? "api/v1" : $"apis/{resource.Group}/{resource.Version}";

    public static JsonObject OpenApiDocument(IEnumerable<ApiResource> resources)
    {
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var resource in resources)
        {
            var gvk = new JsonObject { ["group"] = resource.Group, ["version"] = resource.Version, ["kind"] = resource.Kind };
            var prefix = "/" + GroupVersionPath(resource) + (resource.Namespaced ? "/namespaces/{namespace}" : string.Empty) + "/" + resource.Plural;
            JsonObject Operation(string action) => new()
            {
                ["x-kubernetes-action"] = action,
                ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
                ["parameters"] = new JsonArray(
                    new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true } },
                    new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string", ["uniqueItems"] = true } }),
                ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
            };
            paths[prefix] = new JsonObject { ["post"] = Operation("post") };
            paths[prefix + "/{name}"] = new JsonObject { ["put"] = Operation("put"), ["patch"] = Operation("patch") };
            var schema = resource.Schema?.Structural.DeepClone() as JsonObject
                ?? (resource.Model is { } model ? ModelSchema.For(model) : new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true });
            schema["x-kubernetes-group-version-kind"] = new JsonArray(gvk.DeepClone());
            schemas[$"{(resource.Group.Length == 0 ? "io.k8s.api.core" : resource.Group)}.{resource.Version}.{resource.Kind}"] = schema;
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes (LocalCluster)", ["version"] = KubernetesVersion },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }
}
