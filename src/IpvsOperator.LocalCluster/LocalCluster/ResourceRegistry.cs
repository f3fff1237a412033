using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using k8s.Models;

namespace IpvsOperator.LocalCluster;

/// <summary>The resource types being served: the built-in ones and those that CRDs add.</summary>
public sealed class ResourceRegistry
{
    private static readonly TableColumn Age = new("Age", "date", ".metadata.creationTimestamp");

    private readonly ConcurrentDictionary<string, ApiResource> byPath = new(StringComparer.Ordinal);

    public ResourceRegistry()
    {
        foreach (var resource in BuiltIns())
        {
            Add(resource);
        }
    }

    public static readonly ApiResource Namespaces = new("", "v1", "Namespace", "namespaces", false, ["ns"], true)
    {
        Model = typeof(V1Namespace),
        Columns = [new("Status", "string", ".status.phase"), Age],
    };

    public static readonly ApiResource Services = new("", "v1", "Service", "services", true, ["svc"], true)
    {
        Model = typeof(V1Service),
        Columns = [new("Type", "string", ".spec.type"), new("Cluster-IP", "string", ".spec.clusterIP"),
            new("External-IP", "string", ".status.loadBalancer.ingress[*].ip") { Compute = Tables.ServiceExternalIp },
            new("Port(s)", "string", ".spec.ports[*].port") { Compute = Tables.ServicePorts }, Age],
        FieldSelectors = ["spec.type", "spec.clusterIP"],
        MergeKeys = CommonMergeKeys.Concat(new Dictionary<string, string?> { ["spec.ports"] = "port", ["status.conditions"] = "type" }).ToDictionary(),
        ListTypes = ApiResource.WithMetadataListTypes(new Dictionary<string, string[]> { ["spec.ports"] = ["port", "protocol"], ["status.conditions"] = ["type"] }),
    };

    /// <summary>Core Events; events.k8s.io/v1 serves the same objects (see <see cref="EventsV1"/>).</summary>
    public static readonly ApiResource Events = new("", "v1", "Event", "events", true, ["ev"], false)
    {
        Model = typeof(Corev1Event),
        Columns = [new("Last Seen", "string", ".lastTimestamp") { Compute = Tables.EventLastSeen }, new("Type", "string", ".type"), new("Reason", "string", ".reason"),
            new("Object", "string", ".involvedObject.name"), new("Message", "string", ".message")],
        FieldSelectors = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
            "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"],
        MergeKeys = CommonMergeKeys,
    };

    public static readonly ApiResource CustomResourceDefinitions = new("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false, ["crd", "crds"], true)
    {
        Model = typeof(V1CustomResourceDefinition),
        TracksGeneration = true,
        Columns = [new("Created At", "date", ".metadata.creationTimestamp")],
    };

    public static readonly ApiResource ValidatingWebhookConfigurations = new("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false, [], false)
    {
        Model = typeof(V1ValidatingWebhookConfiguration),
        TracksGeneration = true,
        MergeKeys = CommonMergeKeys.Concat(new Dictionary<string, string?> { ["webhooks"] = "name" }).ToDictionary(),
        ListTypes = ApiResource.WithMetadataListTypes(new Dictionary<string, string[]> { ["webhooks"] = ["name"] }),
    };

    public static readonly ApiResource ValidatingAdmissionPolicies = new("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", false, [], true)
    {
        Model = typeof(V1ValidatingAdmissionPolicy),
        TracksGeneration = true,
        Columns = [Age],
    };

    public static readonly ApiResource ValidatingAdmissionPolicyBindings = new("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", false, [], false)
    {
        Model = typeof(V1ValidatingAdmissionPolicyBinding),
        TracksGeneration = true,
        Columns = [Age],
    };

    /// <summary>ObjectMeta's merge rules, shared by every built-in type.</summary>
    private static IReadOnlyDictionary<string, string?> CommonMergeKeys => new Dictionary<string, string?>
    {
        ["metadata.finalizers"] = null,
        ["metadata.ownerReferences"] = "uid",
    };

    private static IEnumerable<ApiResource> BuiltIns() =>
    [
        Namespaces with { MergeKeys = CommonMergeKeys },
        Services,
        new("", "v1", "Node", "nodes", false, ["no"], true)
        {
            Model = typeof(V1Node),
            Columns = [new("Status", "string", ".status.conditions[?(@.type==\"Ready\")].status"), Age],
            MergeKeys = CommonMergeKeys.Concat(new Dictionary<string, string?> { ["status.addresses"] = "type", ["status.conditions"] = "type" }).ToDictionary(),
            ListTypes = ApiResource.WithMetadataListTypes(new Dictionary<string, string[]> { ["status.addresses"] = ["type"], ["status.conditions"] = ["type"] }),
        },
        new("", "v1", "Pod", "pods", true, ["po"], true)
        {
            Model = typeof(V1Pod),
            Columns = [new("Status", "string", ".status.phase"), new("IP", "string", ".status.podIP"), Age],
            MergeKeys = CommonMergeKeys.Concat(new Dictionary<string, string?> { ["spec.containers"] = "name", ["status.conditions"] = "type" }).ToDictionary(),
            ListTypes = ApiResource.WithMetadataListTypes(new Dictionary<string, string[]> { ["spec.containers"] = ["name"], ["status.conditions"] = ["type"] }),
        },
        Events,
        EventsV1.For(Events),
        new("", "v1", "Secret", "secrets", true, [], false) { Model = typeof(V1Secret), Columns = [new("Type", "string", ".type"), Age], MergeKeys = CommonMergeKeys },
        new("", "v1", "ConfigMap", "configmaps", true, ["cm"], false) { Model = typeof(V1ConfigMap), Columns = [Age], MergeKeys = CommonMergeKeys },
        new("", "v1", "ServiceAccount", "serviceaccounts", true, ["sa"], false) { Model = typeof(V1ServiceAccount), Columns = [Age], MergeKeys = CommonMergeKeys },
        new("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, [], false)
        {
            Model = typeof(V1EndpointSlice),
            Columns = [new("AddressType", "string", ".addressType"), new("Ports", "string", ".ports[*].port"), new("Endpoints", "string", ".endpoints[*].addresses[0]"), Age],
            MergeKeys = CommonMergeKeys,
            TracksGeneration = true,
            GenerationCountsLabels = true,
        },
        new("coordination.k8s.io", "v1", "Lease", "leases", true, [], false)
        {
            Model = typeof(V1Lease),
            Columns = [new("Holder", "string", ".spec.holderIdentity"), Age],
            MergeKeys = CommonMergeKeys,
        },
        CustomResourceDefinitions with { MergeKeys = CommonMergeKeys },
        ValidatingWebhookConfigurations,
        ValidatingAdmissionPolicies,
        ValidatingAdmissionPolicyBindings,
        ClusterRoles,
        ClusterRoleBindings,
        Roles,
        RoleBindings,
        SelfSubjectAccessReviews,
        SelfSubjectRulesReviews,
        SelfSubjectReviews,
    ];

    /// <summary>What <c>kubectl auth whoami</c> asks: who am I (impersonation included)? Answered at once, never stored.</summary>
    public static readonly ApiResource SelfSubjectReviews = new("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", false, [], false)
    {
        Model = typeof(V1SelfSubjectReview),
        IsReview = true,
    };

    /// <summary>What <c>kubectl auth can-i --list</c> asks: what may I do here? Answered from RBAC, never stored.</summary>
    public static readonly ApiResource SelfSubjectRulesReviews = new("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", false, [], false)
    {
        Model = typeof(V1SelfSubjectRulesReview),
        IsReview = true,
    };

    /// <summary>What <c>kubectl auth can-i</c> asks: may I do this? Answered from RBAC, never stored.</summary>
    public static readonly ApiResource SelfSubjectAccessReviews = new("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false, [], false)
    {
        Model = typeof(V1SelfSubjectAccessReview),
        IsReview = true,
    };

    public static readonly ApiResource ClusterRoles = new("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, [], false) { Model = typeof(V1ClusterRole), Columns = [Age], MergeKeys = CommonMergeKeys };

    public static readonly ApiResource ClusterRoleBindings = new("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false, [], false)
    {
        Model = typeof(V1ClusterRoleBinding),
        Columns = [new("Role", "string", ".roleRef.name"), Age],
        MergeKeys = CommonMergeKeys,
    };

    public static readonly ApiResource Roles = new("rbac.authorization.k8s.io", "v1", "Role", "roles", true, [], false) { Model = typeof(V1Role), Columns = [Age], MergeKeys = CommonMergeKeys };

    public static readonly ApiResource RoleBindings = new("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, [], false)
    {
        Model = typeof(V1RoleBinding),
        Columns = [new("Role", "string", ".roleRef.name"), Age],
        MergeKeys = CommonMergeKeys,
    };

    public void Add(ApiResource resource) => byPath[Path(resource.Group, resource.Version, resource.Plural)] = resource;

    public void Remove(ApiResource resource) => byPath.TryRemove(Path(resource.Group, resource.Version, resource.Plural), out _);

    public ApiResource? Find(string group, string version, string plural) => byPath.GetValueOrDefault(Path(group, version, plural));

    public ApiResource? FindByKey(string key) => byPath.Values.FirstOrDefault(r => r.Key == key);

    public IReadOnlyList<ApiResource> All => [.. byPath.Values.OrderBy(r => r.Group, StringComparer.Ordinal).ThenBy(r => r.Plural, StringComparer.Ordinal)];

    /// <summary>The type a CustomResourceDefinition describes (its storage version), with schema and columns.</summary>
    public static ApiResource FromDefinition(JsonObject crd)
    {
        var spec = crd["spec"]!.AsObject();
        var names = spec["names"]!.AsObject();
        var versions = spec["versions"]!.AsArray().OfType<JsonObject>().ToList();
        var version = versions.FirstOrDefault(v => v["storage"]?.GetValue<bool>() == true) ?? versions[0];
        var schema = version["schema"]?["openAPIV3Schema"] as JsonObject;
        var columns = (version["additionalPrinterColumns"] as JsonArray)?.OfType<JsonObject>()
            .Select(c => new TableColumn(c["name"]!.GetValue<string>(), c["type"]?.GetValue<string>() ?? "string", c["jsonPath"]!.GetValue<string>(),
                c["priority"]?.GetValue<int>() ?? 0, c["description"]?.GetValue<string>())).ToList() ?? [Age];
        return new ApiResource(
            spec["group"]!.GetValue<string>(),
            version["name"]!.GetValue<string>(),
            names["kind"]!.GetValue<string>(),
            names["plural"]!.GetValue<string>(),
            spec["scope"]?.GetValue<string>() != "Cluster",
            (names["shortNames"] as JsonArray)?.Select(n => n!.GetValue<string>()).ToList() ?? [],
            version["subresources"]?["status"] is not null)
        {
            IsCustom = true,
            TracksGeneration = true,
            AllowUnconditionalUpdate = false,
            Schema = schema is null ? null : new CustomResourceSchema(schema),
            ListTypes = schema is null ? ApiResource.MetadataListTypes : ApiResource.WithMetadataListTypes(CustomResourceSchema.ListTypes(schema)),
            Columns = columns,
        };
    }

    private static string Path(string group, string version, string plural) => $"{group}/{version}/{plural}";
}
