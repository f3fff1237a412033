using System.Text.Json.Nodes;

namespace IpvsOperator.Migration;

/// <summary>
/// One object read from the input: where it came from (file and document, for messages a user can
/// find), what it is, and its spec as written, untyped so that fields this version does not know
/// are still seen and reported.
/// </summary>
internal sealed record MetalLBObject(string File, int Document, string ApiVersion, string Kind, string Name, string? Namespace,
    IReadOnlyDictionary<string, string> Labels, JsonObject Spec)
{
    public const string Group = "metallb.io";

    public bool IsMetalLB => ApiVersion.StartsWith(Group + "/", StringComparison.Ordinal);

    /// <summary>How messages name it: <c>pools.yaml document 2 (IPAddressPool metallb-system/prod)</c>; read from a cluster (document 0), <c>cluster (IPAddressPool metallb-system/prod)</c>.</summary>
    public string Where => $"{File}{(Document > 0 ? $" document {Document}" : string.Empty)} ({Kind} {(Namespace is null ? string.Empty : Namespace + "/")}{Name})";
}
