using System.Text.Json;
using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Models;

namespace IpvsOperator.Runtime.Webhooks;

/// <summary>
/// A validating webhook for one kind, as KubeOps' <c>ValidationWebhook&lt;TEntity&gt;</c>: the
/// review's objects are deserialized once, through the source-generated JSON (<see cref="ApiJson"/>),
/// and handed to the method of the operation. An operation a validator does not override is allowed.
/// </summary>
public abstract class ValidationWebhook<TEntity> : IAdmissionValidator
    where TEntity : class, IKubernetesObject<V1ObjectMeta>
{
    public Task<AdmissionVerdict> ValidateAsync(AdmissionRequest request, CancellationToken cancellationToken) => request.Operation switch
    {
        "CREATE" => CreateAsync(Read(request, request.NewObject), cancellationToken),
        "UPDATE" => UpdateAsync(Read(request, request.OldObject), Read(request, request.NewObject), cancellationToken),
        // The API server sends the object being deleted as the old one.
        "DELETE" => DeleteAsync(Read(request, request.OldObject), cancellationToken),
        _ => Task.FromResult(AdmissionVerdict.Allow),
    };

    protected virtual Task<AdmissionVerdict> CreateAsync(TEntity entity, CancellationToken cancellationToken) => Task.FromResult(AdmissionVerdict.Allow);

    protected virtual Task<AdmissionVerdict> UpdateAsync(TEntity oldEntity, TEntity newEntity, CancellationToken cancellationToken) => Task.FromResult(AdmissionVerdict.Allow);

    protected virtual Task<AdmissionVerdict> DeleteAsync(TEntity entity, CancellationToken cancellationToken) => Task.FromResult(AdmissionVerdict.Allow);

    /// <summary>
    /// The object with the name and namespace the request gives where the object itself has none
    /// (a create's namespace may be only in its URL): validators name it in their messages.
    /// </summary>
    private static TEntity Read(AdmissionRequest request, JsonElement? json)
    {
        var entity = ApiJson.Deserialize<TEntity>(json ?? throw new InvalidOperationException($"the {request.Operation} review of {request.Name} carries no object"));
        entity.Metadata ??= new V1ObjectMeta();
        entity.Metadata.Name ??= request.Name;
        if (request.Namespace.Length > 0)
        {
            entity.Metadata.NamespaceProperty ??= request.Namespace;
        }
        return entity;
    }
}
