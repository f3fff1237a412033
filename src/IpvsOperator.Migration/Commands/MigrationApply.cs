using IpvsOperator.Entities;
using IpvsOperator.Migration;
using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Models;

namespace IpvsOperator.Commands;

/// <summary>
/// Writes a migration's objects to a cluster, idempotently: what is missing is created, what holds
/// the same content is left alone, and an object of the same name with other content is reported
/// and left alone unless <c>--overwrite</c> says to replace it. A claim held by other Services is
/// never replaced, whatever the flag: that would take an address from a Service. Secrets first (the
/// peers name them), then IPPools (the claims must lie in them), BGPPeers, and the claims.
/// </summary>
internal sealed class MigrationApply(ApiConnection api, bool overwrite, TextWriter report)
{
    public int Created { get; private set; }

    public int Unchanged { get; private set; }

    public int Replaced { get; private set; }

    /// <summary>Objects that differ and were left as they are.</summary>
    public int Kept { get; private set; }

    public async Task ApplyAsync(MigrationResult result, CancellationToken cancellationToken)
    {
        foreach (var secret in result.Secrets)
        {
            // Compared by content, never printed: the report names the Secret only.
            await ApplyAsync(new EntityClient<V1Secret>(api), secret, s => (s.Type ?? "Opaque") + string.Join(";", (s.Data ?? new Dictionary<string, byte[]>()).OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => d.Key + "=" + Convert.ToBase64String(d.Value))),
                (target, source) => { target.Data = source.Data; target.Type = source.Type; }, replaceable: true, cancellationToken);
        }
        foreach (var pool in result.Pools)
        {
            await ApplyAsync(new EntityClient<V1Alpha1IPPool>(api), pool, p => KubernetesJson.Serialize(p.Spec), (target, source) => target.Spec = source.Spec, replaceable: true, cancellationToken);
        }
        foreach (var peer in result.Peers)
        {
            await ApplyAsync(new EntityClient<V1Alpha1BGPPeer>(api), peer, p => KubernetesJson.Serialize(p.Spec), (target, source) => target.Spec = source.Spec, replaceable: true, cancellationToken);
        }
        foreach (var claim in result.Claims)
        {
            await ApplyAsync(new EntityClient<V1Alpha1IPAllocation>(api), claim, c => KubernetesJson.Serialize(c.Spec), (target, source) => target.Spec = source.Spec, replaceable: false, cancellationToken);
        }
    }

    /// <summary>The line that ends the report: what the run changed, or that it changed nothing.</summary>
    public string Summary => Created + Replaced == 0 && Kept == 0
        ? $"applied: nothing to change; the cluster already holds all {Unchanged} object(s)"
        : $"applied: {Created} created, {Replaced} replaced, {Unchanged} unchanged, {Kept} not overwritten";

    private async Task ApplyAsync<T>(EntityClient<T> client, T wanted, Func<T, string> content, Action<T, T> copy, bool replaceable, CancellationToken cancellationToken)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var name = $"{wanted.Kind} {(wanted.Metadata.NamespaceProperty is { } ns ? ns + "/" : string.Empty)}{wanted.Metadata.Name}";
        var existing = await client.GetAsync(wanted.Metadata.NamespaceProperty, wanted.Metadata.Name, cancellationToken);
        if (existing is null)
        {
            await client.CreateAsync(wanted, cancellationToken);
            Created++;
            report.WriteLine($"created {name}");
            return;
        }
        if (content(existing) == content(wanted))
        {
            Unchanged++;
            report.WriteLine($"unchanged {name}");
            return;
        }
        if (!replaceable)
        {
            Kept++;
            report.WriteLine($"conflict: {name} exists with other content (another Service's claim, or one made since); it is never overwritten: compare it with kubectl get {wanted.Kind.ToLowerInvariant()} {wanted.Metadata.Name} -o yaml");
            return;
        }
        if (!overwrite)
        {
            Kept++;
            report.WriteLine($"conflict: {name} exists with other content; it is not overwritten (run again with --overwrite to replace it)");
            return;
        }
        copy(existing, wanted);
        await client.ReplaceAsync(existing, cancellationToken);
        Replaced++;
        report.WriteLine($"replaced {name}");
    }
}
