using System.Security.Cryptography;
using System.Text;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Rbac;
using IpvsOperator.Runtime.Resilience;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node.Announcement;

/// <summary>
/// The key the node agents sign their heartbeats with: 32 random bytes in a Secret of their own
/// namespace, made by the first agent that finds it missing (create is conditional: one wins, the
/// others read its key). Only the agents (and cluster admins) can read it; rotating it is deleting
/// the Secret and restarting the DaemonSet.
/// </summary>
// RBAC cannot limit create by name; the policy can: the key is the one Secret an agent makes.
[EntityRbac(typeof(V1Secret), Verbs = RbacVerb.Create, Component = "node", Namespaced = true)]
[WriteRule(typeof(V1Secret), "variables.written.metadata.name == '" + SecretName + "'", Verbs = RbacVerb.Create, Component = "node",
    Message = "a node agent creates no Secret but the heartbeat key " + SecretName)]
[EntityRbac(typeof(V1Secret), Verbs = RbacVerb.Get, Component = "node", Namespaced = true, ResourceNames = [SecretName])]
internal static class PeerKey
{
    public const string SecretName = "ipvs-operator-peer-key";
    private const string KeyField = "key";

    /// <summary>The key, made when missing; retried until it can be read or <paramref name="cancellationToken"/> fires.</summary>
    public static async Task<byte[]> EnsureAsync(ApiConnection api, string @namespace, ILogger logger, TimeProvider clock, CancellationToken cancellationToken)
    {
        var secrets = new EntityClient<V1Secret>(api);
        var failures = 0;
        while (true)
        {
            try
            {
                var secret = await secrets.GetAsync(@namespace, SecretName, cancellationToken)
                    ?? await CreateAsync(secrets, @namespace, cancellationToken);
                if (secret.Data?.TryGetValue(KeyField, out var key) == true && key.Length >= 16)
                {
                    return key;
                }
                throw new InvalidOperationException($"Secret {@namespace}/{SecretName} has no '{KeyField}' of 16 bytes or more; delete it and an agent makes a new one");
            }
            catch (Exception error) when (error is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var wait = Backoff.Watch.Delay(++failures);
                logger.LogWarning("cannot read the peer heartbeat key ({Error}); retrying in {Wait:0.#} s", error.Message, wait.TotalSeconds);
                await Task.Delay(wait, clock, cancellationToken);
            }
        }
    }

    private static async Task<V1Secret> CreateAsync(EntityClient<V1Secret> secrets, string @namespace, CancellationToken cancellationToken)
    {
        try
        {
            return await secrets.CreateAsync(new V1Secret
            {
                ApiVersion = "v1",
                Kind = "Secret",
                Metadata = new V1ObjectMeta { Name = SecretName, NamespaceProperty = @namespace },
                Type = "Opaque",
                Data = new Dictionary<string, byte[]> { [KeyField] = RandomNumberGenerator.GetBytes(32) },
            }, cancellationToken);
        }
        catch (ApiStatusException error) when (error.IsAlreadyExists)
        {
            return await secrets.GetAsync(@namespace, SecretName, cancellationToken)
                ?? throw new InvalidOperationException($"Secret {@namespace}/{SecretName} was made and is gone again", error);
        }
    }
}
