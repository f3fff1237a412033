using IpvsOperator.AllocationReaders;
using IpvsOperator.Readers;
using System.Text.Json.Nodes;
using IpvsOperator.Addressing;
using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Events;
using IpvsOperator.Runtime.Rbac;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Controllers;

/// <summary>
/// Gives each LoadBalancer Service of ours an address: decides with the allocator, attaches the
/// release finalizer and the pool annotation (one write), claims the address by creating the
/// IPAllocation named after it (409 AlreadyExists means taken: learn the owner, try the next),
/// then publishes it in the Service's status (one write). The IPAllocation objects are the truth:
/// before each decision the allocator is synced with the claims this Service holds in the cache,
/// oldest claim first, so that two controllers that raced converge on the same answer.
/// </summary>
[EntityRbac(typeof(V1Service), Verbs = RbacVerb.Read | RbacVerb.Patch)]
[GenericRbac(Resources = ["services/status"], Verbs = RbacVerb.Patch)]
[EntityRbac(typeof(V1Alpha1IPAllocation), Verbs = RbacVerb.Read | RbacVerb.Create | RbacVerb.Update | RbacVerb.Delete)]
[EntityRbac(typeof(V1Namespace), Verbs = RbacVerb.Get)]
[EntityRbac(typeof(Corev1Event), Verbs = RbacVerb.Create | RbacVerb.Get | RbacVerb.Update)]
internal sealed class ServiceController(
    AllocationTerm term,
    EntityClient<V1Service> services,
    EntityClient<V1Alpha1IPAllocation> allocations,
    EntityClient<V1Namespace> namespaces,
    EventRecorder events,
    ControllerSettings settings,
    ILogger<ServiceController> logger) : IEntityController<V1Service>
{
    private const int ClaimAttempts = 16;

    private readonly ReplacedVersions replaced = new();

    public async Task<ReconcileResult> ReconcileAsync(V1Service service, CancellationToken cancellationToken)
    {
        await term.ReadyAsync(cancellationToken);
        var key = ObjectKey.Of(service);
        if (replaced.IsReplaced(key, service.Metadata.ResourceVersion))
        {
            // The cache is behind our own write; that write's event brings the Service back.
            return ReconcileResult.Done;
        }
        if (!ServiceRequestReader.IsOurs(service, settings.DefaultClass))
        {
            term.ClearPending(key);
            await StopServingAsync(service, cancellationToken);
            return ReconcileResult.Done;
        }
        var (request, error) = ServiceRequestReader.Read(service, await NamespaceLabelsAsync(service, cancellationToken));
        if (request is null)
        {
            // A spec change brings the Service back; retrying the same garbled annotation would only repeat the Event.
            await events.RecordAsync(service, EventType.Warning, WellKnown.Events.AllocationFailed, error!, cancellationToken);
            return ReconcileResult.Done;
        }

        for (var attempt = 0; attempt < ClaimAttempts; attempt++)
        {
            var (keepers, extras) = await SyncClaimsAsync(service, request, cancellationToken);
            var result = term.WithAllocator(a => a.Allocate(request));
            if (!result.Succeeded)
            {
                return await WaitForAddressAsync(service, request, keepers, result.Failure!, cancellationToken);
            }

            service = await EnsureMetadataAsync(service, result.Addresses, cancellationToken);
            var taken = await ClaimAllAsync(service, request, result.Addresses, keepers, cancellationToken);
            if (taken is not null)
            {
                // Someone else holds it: the allocator now knows, and the next attempt picks another.
                logger.LogInformation("address {Address} for {Service} is taken by {Owner}; trying another", taken.Spec.Address, key, $"{taken.Spec.ServiceRef.Namespace}/{taken.Spec.ServiceRef.Name}");
                continue;
            }
            // Publish first, release after: an address leaves a Service's status before anyone else may claim it.
            var published = await WriteStatusAsync(service, result.Addresses, cancellationToken);
            foreach (var stale in extras.Concat(keepers.Where(k => result.Addresses.All(a => a.Address != k.Address))))
            {
                await ReleaseClaimAsync(stale.Object, service, cancellationToken);
            }
            term.ClearPending(key);
            if (published)
            {
                ControllerMetrics.Allocations.Inc();
                var described = string.Join(", ", result.Addresses.Select(a => $"{a.Address} from IPPool {a.Pool}"));
                await events.RecordAsync(service, EventType.Normal, WellKnown.Events.IPAllocated, $"Assigned {described}", cancellationToken);
                // Said with each assignment, not each reconcile: a MetalLB annotation is no fault, and every reconcile would bump the Event.
                foreach (var advice in MetalLBAnnotations.Advice(service.Metadata.Annotations))
                {
                    await events.RecordAsync(service, EventType.Normal, WellKnown.Events.MetalLBAnnotation, advice, cancellationToken);
                }
            }
            return ReconcileResult.Done;
        }
        return ReconcileResult.RetryWithBackoff("every address tried was taken by another controller meanwhile");
    }

    /// <summary>
    /// The Service cannot get what it asks for now. What it holds and no longer fits its request
    /// (its labels left the pool's selector, it asks for another address or pool) is released, so
    /// that its claims and status never contradict the failure; what still fits is kept. It waits
    /// with backoff, and is looked at again at once when an address is freed or a pool changes.
    /// </summary>
    private async Task<ReconcileResult> WaitForAddressAsync(V1Service service, ServiceRequest request, List<HeldClaim> keepers, AllocationFailure failure,
        CancellationToken cancellationToken)
    {
        var unfit = keepers.Where(k => !term.WithAllocator(a => a.Fits(request, k.Address))).ToList();
        foreach (var claim in unfit)
        {
            await ReleaseClaimAsync(claim.Object, service, cancellationToken);
        }
        var kept = keepers.Except(unfit).ToList();
        if (unfit.Count > 0)
        {
            term.WithAllocator(a => a.Assign(request.Service, [.. kept.Select(k => k.Held)], request.Ports, request.SharingNamespaces));
        }
        await WithdrawUnclaimedAsync(service, kept, cancellationToken);
        if (term.MarkPending(ObjectKey.Of(service), failure.Reason))
        {
            ControllerMetrics.AllocationFailures.WithLabels(failure.Reason.ToString()).Inc();
        }
        var message = AllocationFailureMessage.Of(failure, request.Service);
        await events.RecordAsync(service, EventType.Warning, WellKnown.Events.AllocationFailed, message, cancellationToken);
        if (unfit.Count > 0)
        {
            await events.RecordAsync(service, EventType.Normal, WellKnown.Events.IPReleased,
                $"Released {string.Join(", ", unfit.Select(u => u.Address))}: it no longer fits the Service ({message})", cancellationToken);
        }
        if (failure.Reason == AllocationFailureReason.PoolExhausted)
        {
            foreach (var pool in term.Pools.Items)
            {
                term.Pools.EnqueueAfter(ObjectKey.Of(pool), AllocationTerm.PoolStatusDelay);
            }
        }
        return ReconcileResult.RetryWithBackoff($"{failure.Reason}: {message}");
    }

    /// <summary>
    /// A Service that cannot get an address must not go on showing one it does not hold (lost in a
    /// race, or its claim released): its status keeps only the addresses it still claims.
    /// </summary>
    private async Task WithdrawUnclaimedAsync(V1Service service, List<HeldClaim> keepers, CancellationToken cancellationToken)
    {
        var claimed = keepers.Select(k => k.Address).ToHashSet();
        var ingress = service.Status?.LoadBalancer?.Ingress ?? [];
        bool Claimed(V1LoadBalancerIngress entry) => IPAddressValue.TryParse(entry.Ip, out var address) && claimed.Contains(address);
        if (ingress.All(Claimed))
        {
            return;
        }
        var kept = ingress.Where(Claimed).Select(i => (i.Ip, i.IpMode)).ToList();
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = service.Metadata.ResourceVersion },
            ["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = kept.Count == 0 ? null : Ingress(kept) } },
        }.ToJsonString();
        await services.PatchAsync(service.Metadata.NamespaceProperty, service.Metadata.Name, patch, PatchKind.Merge, status: true, cancellationToken);
    }

    public Task DeletedAsync(V1Service service, CancellationToken cancellationToken)
    {
        replaced.Forget(ObjectKey.Of(service));
        term.ClearPending(ObjectKey.Of(service));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Makes the allocator agree with the claims this Service holds. Per family one claim is kept:
    /// the one whose address the Service's status shows, else the oldest; the others (left by a
    /// race between controllers) are returned to be released once the status no longer shows them.
    /// With no claim for a family, the address in the status is offered back first, so a claim
    /// deleted by hand, or never written because of a crash, comes back with the same address.
    /// </summary>
    private async Task<(List<HeldClaim> Keepers, List<HeldClaim> Extras)> SyncClaimsAsync(V1Service service, ServiceRequest request, CancellationToken cancellationToken)
    {
        var published = (service.Status?.LoadBalancer?.Ingress ?? []).Select(i => IPAddressValue.TryParse(i.Ip, out var address) ? address : (IPAddressValue?)null)
            .OfType<IPAddressValue>().ToHashSet();
        var claims = (await ClaimsBehindAsync(service, published, cancellationToken))
            .OrderBy(c => published.Contains(c.Address) ? 0 : 1)
            .ThenBy(c => c.Object.Metadata.CreationTimestamp ?? DateTime.MinValue).ThenBy(c => c.Object.Metadata.Name, StringComparer.Ordinal)
            .ToList();
        var keepers = claims.GroupBy(c => c.Address.Family).Select(g => g.First()).ToList();
        var extras = claims.Except(keepers).ToList();
        var key = request.Service;
        term.WithAllocator(a =>
        {
            // A published address nobody else holds stands in for a family without a claim.
            var offered = published.Where(address => keepers.All(k => k.Address.Family != address.Family)
                && (a.ClaimOf(address)?.Holders.Keys.All(holder => holder == key) ?? true));
            return a.Assign(key, [.. keepers.Select(k => k.Held), .. offered.Select(address => new HeldAddress(address, request.SharingKey))],
                request.Ports, request.SharingNamespaces);
        });
        return (keepers, extras);
    }

    /// <summary>
    /// The claims this Service holds: the cache's, plus the claim of each published address the cache
    /// has not seen yet, read from the API server. The status and the claims come through two watches,
    /// so the status written by another controller can arrive before its claim. Keeping an older
    /// claim then, we would overwrite the status with it while that controller releases it as a
    /// leftover, and the freed address would go to a second Service (seen in the two-controller race).
    /// </summary>
    private async Task<IReadOnlyList<HeldClaim>> ClaimsBehindAsync(V1Service service, IReadOnlySet<IPAddressValue> published, CancellationToken cancellationToken)
    {
        var claims = HeldClaim.Of(term.ClaimsOf(service)).ToList();
        foreach (var address in published.Where(p => claims.All(c => c.Address != p)).ToList())
        {
            var claim = await allocations.GetAsync(null, AllocationNames.For(address), cancellationToken);
            if (claim is not null && claim.Holders().Any(h => h.Uid == service.Metadata.Uid))
            {
                claims.AddRange(HeldClaim.Of([claim]));
            }
        }
        return claims;
    }

    /// <summary>Claims every address not yet backed by an IPAllocation; returns the claim that beat us, if any.</summary>
    private async Task<V1Alpha1IPAllocation?> ClaimAllAsync(V1Service service, ServiceRequest request, IReadOnlyList<AddressAssignment> addresses,
        List<HeldClaim> keepers, CancellationToken cancellationToken)
    {
        foreach (var assignment in addresses.Where(a => keepers.All(k => k.Address != a.Address)))
        {
            if (await ClaimAsync(service, request, assignment, cancellationToken) is { } owner)
            {
                var ownerKey = new ServiceKey(owner.Spec.ServiceRef.Namespace, owner.Spec.ServiceRef.Name);
                term.WithAllocator(a =>
                {
                    // This Service holds its claims and not the address it lost; the owner's claim is recorded as it is.
                    a.Assign(request.Service, [.. keepers.Select(k => k.Held)], request.Ports, request.SharingNamespaces);
                    foreach (var holder in owner.Holders())
                    {
                        var (ports, namespaces) = term.SharingOf(holder);
                        a.Restore(new ServiceKey(holder.Namespace, holder.Name), assignment.Address, owner.Spec.SharingKey, ports, namespaces);
                    }
                    return a.ClaimOf(assignment.Address) is null ? a.Restore(ownerKey, assignment.Address, owner.Spec.SharingKey, []) : null;
                });
                return owner;
            }
        }
        return null;
    }

    /// <summary>Creates the IPAllocation; null when the claim is ours, else the claim that holds the address.</summary>
    private async Task<V1Alpha1IPAllocation?> ClaimAsync(V1Service service, ServiceRequest request, AddressAssignment assignment, CancellationToken cancellationToken)
    {
        var name = AllocationNames.For(assignment.Address);
        var reference = new ServiceReference { Namespace = service.Metadata.NamespaceProperty, Name = service.Metadata.Name, Uid = service.Metadata.Uid };
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                await allocations.CreateAsync(new V1Alpha1IPAllocation
                {
                    Metadata = new V1ObjectMeta { Name = name },
                    Spec = new IPAllocationSpec { Address = assignment.Address.ToString(), Pool = assignment.Pool ?? string.Empty, ServiceRef = reference, SharingKey = request.SharingKey },
                }, cancellationToken);
                return null;
            }
            catch (ApiStatusException error) when (error.IsAlreadyExists)
            {
                var existing = await allocations.GetAsync(null, name, cancellationToken);
                if (existing is null)
                {
                    continue; // released meanwhile: try again
                }
                if (existing.Holders().Any(h => h.Uid == service.Metadata.Uid))
                {
                    return null; // ours already, e.g. written before a crash
                }
                var mayShare = request.SharingKey is not null && existing.Spec.SharingKey == request.SharingKey
                    && term.WithAllocator(a => a.ClaimOf(assignment.Address)?.Holders.ContainsKey(request.Service) == true);
                if (!mayShare)
                {
                    return existing;
                }
                existing.Spec.SharedWith = [.. existing.Spec.SharedWith ?? [], reference];
                await allocations.ReplaceAsync(existing, cancellationToken);
                return null;
            }
        }
        throw new InvalidOperationException($"the claim {name} kept changing under us");
    }

    private async Task ReleaseClaimAsync(V1Alpha1IPAllocation claim, V1Service service, CancellationToken cancellationToken)
    {
        await Claims.ReleaseAsync(allocations, claim, service.Metadata.Uid, cancellationToken);
        term.EnqueuePending();
    }

    /// <summary>The release finalizer and the pool annotation, in one write conditional on what was read.</summary>
    private async Task<V1Service> EnsureMetadataAsync(V1Service service, IReadOnlyList<AddressAssignment> addresses, CancellationToken cancellationToken)
    {
        var pools = string.Join(",", addresses.Select(a => a.Pool).Distinct());
        var finalizers = service.Metadata.Finalizers ?? [];
        var annotations = service.Metadata.Annotations ?? new Dictionary<string, string>();
        if (finalizers.Contains(WellKnown.Finalizers.ReleaseAddress)
            && annotations.TryGetValue(WellKnown.Annotations.AllocatedFromPool, out var current) && current == pools)
        {
            return service;
        }
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["resourceVersion"] = service.Metadata.ResourceVersion,
                ["finalizers"] = ApiJson.Strings(finalizers.Contains(WellKnown.Finalizers.ReleaseAddress) ? finalizers : [.. finalizers, WellKnown.Finalizers.ReleaseAddress]),
                ["annotations"] = new JsonObject { [WellKnown.Annotations.AllocatedFromPool] = pools },
            },
        }.ToJsonString();
        var written = await services.PatchAsync(service.Metadata.NamespaceProperty, service.Metadata.Name, patch, PatchKind.Merge, cancellationToken: cancellationToken);
        replaced.Replaced(ObjectKey.Of(service), service.Metadata.ResourceVersion);
        return written;
    }

    /// <summary>
    /// Publishes the addresses in status.loadBalancer.ingress, conditional on the resourceVersion
    /// read: of two controllers the first to write decides, the other retries on what it wrote.
    /// False when the status already says so.
    /// </summary>
    private async Task<bool> WriteStatusAsync(V1Service service, IReadOnlyList<AddressAssignment> addresses, CancellationToken cancellationToken)
    {
        var wanted = addresses.Select(a => (Ip: a.Address.ToString(), Mode: settings.IpMode)).ToList();
        var current = (service.Status?.LoadBalancer?.Ingress ?? []).Select(i => (Ip: i.Ip ?? string.Empty, Mode: i.IpMode ?? string.Empty)).ToList();
        if (current.SequenceEqual(wanted))
        {
            return false;
        }
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = service.Metadata.ResourceVersion },
            ["status"] = new JsonObject { ["loadBalancer"] = new JsonObject { ["ingress"] = Ingress(wanted) } },
        }.ToJsonString();
        await services.PatchAsync(service.Metadata.NamespaceProperty, service.Metadata.Name, patch, PatchKind.Merge, status: true, cancellationToken);
        replaced.Replaced(ObjectKey.Of(service), service.Metadata.ResourceVersion);
        return true;
    }

    /// <summary>
    /// A Service that stopped being ours (type, class): give its addresses back and take off what we
    /// put on it. Status is cleared only of addresses we wrote, as another implementation may own it now.
    /// A Service we never served (no finalizer of ours, which comes before any claim we make) is left
    /// alone, claims and all: they were made ahead of us (migrate metallb --apply) so that we adopt its
    /// address once it is ours, while another implementation still serves it.
    /// </summary>
    private async Task StopServingAsync(V1Service service, CancellationToken cancellationToken)
    {
        var hasFinalizer = service.Metadata.Finalizers?.Contains(WellKnown.Finalizers.ReleaseAddress) == true;
        var hasAnnotation = service.Metadata.Annotations?.ContainsKey(WellKnown.Annotations.AllocatedFromPool) == true;
        if (!hasFinalizer && !hasAnnotation)
        {
            return;
        }
        var claims = term.ClaimsOf(service);
        foreach (var claim in claims)
        {
            await ReleaseClaimAsync(claim, service, cancellationToken);
        }
        var released = term.WithAllocator(a => a.Release(ServiceRequestReader.KeyOf(service)));
        var ours = claims.Addresses().Concat(released).ToHashSet();
        // Said now that they are released: the patches below change the resourceVersion, and a
        // retry after a conflict finds nothing left to release (the Event was lost that way).
        if (ours.Count > 0)
        {
            await events.RecordAsync(service, EventType.Normal, WellKnown.Events.IPReleased, $"Released {string.Join(", ", ours.Order())}: the Service is no longer a LoadBalancer of class {WellKnown.LoadBalancerClass}", cancellationToken);
        }
        var ingress = service.Status?.LoadBalancer?.Ingress ?? [];
        var resourceVersion = service.Metadata.ResourceVersion;
        if (ingress.Count > 0 && ingress.All(i => IPAddressValue.TryParse(i.Ip, out var address) && ours.Contains(address)))
        {
            // The metadata patch below is conditional: it goes on from the version this write makes.
            resourceVersion = (await services.PatchAsync(service.Metadata.NamespaceProperty, service.Metadata.Name, """{"status":{"loadBalancer":{"ingress":null}}}""", PatchKind.Merge, status: true, cancellationToken))
                .Metadata.ResourceVersion;
        }
        if (hasFinalizer || hasAnnotation)
        {
            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["resourceVersion"] = resourceVersion,
                    ["finalizers"] = ApiJson.Strings((service.Metadata.Finalizers ?? []).Where(f => f != WellKnown.Finalizers.ReleaseAddress)),
                    ["annotations"] = new JsonObject { [WellKnown.Annotations.AllocatedFromPool] = null },
                },
            }.ToJsonString();
            await services.PatchAsync(service.Metadata.NamespaceProperty, service.Metadata.Name, patch, PatchKind.Merge, cancellationToken: cancellationToken);
        }
    }

    private async Task<IReadOnlyDictionary<string, string>> NamespaceLabelsAsync(V1Service service, CancellationToken cancellationToken)
    {
        // Read only when some pool selects namespaces by label.
        if (!term.Pools.Items.Any(p => p.Spec.ServiceAllocation?.NamespaceSelector is not null))
        {
            return new Dictionary<string, string>();
        }
        var ns = await namespaces.GetAsync(null, service.Metadata.NamespaceProperty, cancellationToken);
        return (IReadOnlyDictionary<string, string>?)ns?.Metadata.Labels?.AsReadOnly() ?? new Dictionary<string, string>();
    }

    private static JsonArray Ingress(IEnumerable<(string Ip, string Mode)> entries) =>
        [.. entries.Select(entry => new JsonObject { ["ip"] = entry.Ip, ["ipMode"] = entry.Mode })];

}
