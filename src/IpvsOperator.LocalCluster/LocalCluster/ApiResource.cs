using System.Text.Json.Nodes;
namespace IpvsOperator.LocalCluster;

/// <summary>A column of the server-side table that <c>kubectl get</c> prints.</summary>
public sealed record TableColumn(string Name, string Type, string JsonPath, int Priority = 0, string? Description = null)
{
    /// <summary>A cell computed as kubectl's printers do for built-in types (null: read <see cref="JsonPath"/>).</summary>
    public Func<JsonObject, DateTimeOffset, JsonNode?>? Compute { get; init; }
}

/// <summary>A resource type the server serves: a built-in one, or one a CustomResourceDefinition created.</summary>
public sealed record ApiResource(
    string Group,
    string Version,
    string Kind,
    string Plural,
    bool Namespaced,
    IReadOnlyList<string> ShortNames,
    bool HasStatus)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>Group and plural: how objects of this type are stored (one version per type here).</summary>
    public string Key => $"{Group}/{Plural}";

    /// <summary>"services", "ippools.ipvsoperator.io": how error messages name the type, as Kubernetes does.</summary>
    public string QualifiedName => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public string Singular => Kind.ToLowerInvariant();

    public bool IsCustom { get; init; }

    /// <summary>A review (an access review): created and answered at once, never stored; create is its only verb.</summary>
    public bool IsReview { get; init; }

    /// <summary>
    /// Whether metadata.generation counts spec changes: custom resources, CRDs, webhook
    /// configurations and EndpointSlices, as their upstream strategies do; Services, ConfigMaps,
    /// Secrets and the rest have none upstream.
    /// </summary>
    public bool TracksGeneration { get; init; }

    /// <summary>Whether a change of labels counts too (EndpointSlices: upstream's strategy bumps on any change but other metadata).</summary>
    public bool GenerationCountsLabels { get; init; }

    /// <summary>Built-in types accept an update without a resourceVersion; custom resources require one.</summary>
    public bool AllowUnconditionalUpdate { get; init; } = true;

    /// <summary>The field selectors this type supports besides metadata.name and metadata.namespace (upstream's per-type field label conversions).</summary>
    public IReadOnlyList<string> FieldSelectors { get; init; } = [];

    public CustomResourceSchema? Schema { get; init; }

    /// <summary>A built-in type's KubernetesClient model: its schema for <c>kubectl explain</c> and strict field validation (see <see cref="ModelSchema"/>).</summary>
    public Type? Model { get; init; }

    public IReadOnlyList<TableColumn> Columns { get; init; } = [];

    /// <summary>Served over another resource's storage (events.k8s.io/v1 Events over the core ones), converted both ways; null: stored as itself.</summary>
    public ResourceConversion? Conversion { get; init; }

    /// <summary>
    /// The lists server-side apply merges (path, their keys; no keys: a set of primitives), as
    /// upstream's x-kubernetes-list-type says; every other list is atomic (owned and replaced whole).
    /// </summary>
    public IReadOnlyDictionary<string, string[]> ListTypes { get; init; } = MetadataListTypes;

    /// <summary>ObjectMeta's lists, shared by every type.</summary>
    public static IReadOnlyDictionary<string, string[]> MetadataListTypes { get; } = new Dictionary<string, string[]>
    {
        ["metadata.finalizers"] = [],
        ["metadata.ownerReferences"] = ["uid"],
    };

    /// <summary>ObjectMeta's lists and <paramref name="more"/>.</summary>
    public static IReadOnlyDictionary<string, string[]> WithMetadataListTypes(IReadOnlyDictionary<string, string[]> more) =>
        MetadataListTypes.Concat(more).ToDictionary();

    /// <summary>Fields whose lists a strategic merge patch merges by key (path, merge key; null key: set of primitives).</summary>
    public IReadOnlyDictionary<string, string?> MergeKeys { get; init; } = new Dictionary<string, string?>();
}
