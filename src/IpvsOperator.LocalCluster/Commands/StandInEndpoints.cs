using IpvsOperator.Node;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Watching;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Commands;

/// <summary>
/// Local mode runs no pods, so no EndpointSlice controller publishes endpoints: this stands in for
/// it. Every LoadBalancer Service that has no EndpointSlice of its own gets, for each of its IP
/// families, one with two ready stand-in pods on the local node (in the pod ranges clusters commonly
/// use, 10.244.0.0/16 and fd00:10:244::/56, never contacted: the in-memory dataplane forwards
/// nothing), kept in line with the Service's ports, owned by the Service so that it goes with it.
/// Once a slice of someone else's (published by hand) appears, the stand-ins are deleted: the
/// Service's traffic goes to the user's endpoints only, as it would on a cluster. So are they when
/// the Service changes to another type.
/// </summary>
internal sealed class StandInEndpoints(IKubernetes kubernetes, string nodeName, ILoggerFactory loggers)
{
    public const string StandInLabel = "ipvsoperator.io/stand-in";

    private static readonly Dictionary<string, string[]> PodsByFamily = new(StringComparer.Ordinal)
    {
        ["IPv4"] = ["10.244.0.10", "10.244.0.11"],
        ["IPv6"] = ["fd00:10:244::10", "fd00:10:244::11"],
    };

    private readonly EntityClient<V1EndpointSlice> slices = new(kubernetes);
    private readonly ILogger logger = loggers.CreateLogger<StandInEndpoints>();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var services = new Informer<V1Service>(new EntityClient<V1Service>(kubernetes), loggers.CreateLogger<Informer<V1Service>>());
        var existing = new Informer<V1EndpointSlice>(slices, loggers.CreateLogger<Informer<V1EndpointSlice>>());
        var changed = new SemaphoreSlim(0);
        services.Subscribe(_ => changed.Release());
        existing.Subscribe(_ => changed.Release());
        var watching = Task.WhenAll(services.RunAsync(cancellationToken), existing.RunAsync(cancellationToken));
        try
        {
            await Task.WhenAll(services.WaitForSyncAsync(cancellationToken), existing.WaitForSyncAsync(cancellationToken));
            while (!cancellationToken.IsCancellationRequested)
            {
                foreach (var service in services.Items)
                {
                    await StandInForAsync(service, existing.Items, cancellationToken);
                }
                await changed.WaitAsync(cancellationToken);
                while (changed.CurrentCount > 0)
                {
                    await changed.WaitAsync(cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        await watching;
    }

    private async Task StandInForAsync(V1Service service, IReadOnlyCollection<V1EndpointSlice> all, CancellationToken cancellationToken)
    {
        var (ns, name) = (service.Metadata.NamespaceProperty, service.Metadata.Name);
        var own = all.Where(s => s.Metadata.NamespaceProperty == ns && s.Metadata.Labels?.TryGetValue(DesiredStateBuilder.ServiceNameLabel, out var of) == true && of == name).ToList();
        var standIns = own.Where(s => s.Metadata.Labels?.ContainsKey(StandInLabel) == true).ToList();
        var published = own.Count > standIns.Count;
        var loadBalancer = service.Spec?.Type == "LoadBalancer";
        if (!loadBalancer && standIns.Count == 0)
        {
            return;
        }
        // A family the Service no longer has keeps no stand-ins, none stay beside a published slice,
        // and a Service changed to another type keeps none.
        HashSet<string> families = published || !loadBalancer ? [] : Families(service);
        try
        {
            foreach (var stale in standIns.Where(s => !families.Contains(s.AddressType)))
            {
                await slices.DeleteAsync(ns, stale.Metadata.Name, stale.Metadata.Uid, cancellationToken: cancellationToken);
                logger.LogInformation("stand-in endpoints {Slice} of {Namespace}/{Service} deleted ({Why})", stale.Metadata.Name, ns, name,
                    !loadBalancer ? $"it is a {service.Spec?.Type} Service now" : published ? "it has an EndpointSlice of its own now" : $"it has no {stale.AddressType} family");
            }
            foreach (var family in families)
            {
                await StandInAsync(Slice(service, family), standIns.FirstOrDefault(s => s.AddressType == family), cancellationToken);
            }
        }
        catch (ApiStatusException error) when (error.IsConflict || error.IsAlreadyExists || error.IsNotFound)
        {
            // Changed meanwhile: the next change brings it round again.
        }
    }

    private async Task StandInAsync(V1EndpointSlice wanted, V1EndpointSlice? current, CancellationToken cancellationToken)
    {
        if (current is null)
        {
            await slices.CreateAsync(wanted, cancellationToken);
            logger.LogInformation("stand-in endpoints {Pods} for {Namespace}/{Service} (local mode runs no pods)",
                string.Join(", ", wanted.Endpoints.SelectMany(e => e.Addresses)), wanted.Metadata.NamespaceProperty, wanted.Metadata.Labels[DesiredStateBuilder.ServiceNameLabel]);
        }
        else if (ApiJson.Serialize(current.Ports) != ApiJson.Serialize(wanted.Ports))
        {
            current.Ports = wanted.Ports;
            await slices.ReplaceAsync(current, cancellationToken);
        }
    }

    /// <summary>The Service's families as the API server set them (IPv4 when it did not say, as for a Service read before the server defaulted it).</summary>
    private static HashSet<string> Families(V1Service service) =>
        new(service.Spec.IpFamilies is { Count: > 0 } families ? families.Where(PodsByFamily.ContainsKey) : ["IPv4"], StringComparer.Ordinal);

    /// <summary>What the EndpointSlice controller would publish for two ready pods of the Service in one family.</summary>
    private V1EndpointSlice Slice(V1Service service, string family) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = $"{service.Metadata.Name}-local-{family.ToLowerInvariant()}",
            NamespaceProperty = service.Metadata.NamespaceProperty,
            Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service.Metadata.Name, [StandInLabel] = "true" },
            OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "Service", Name = service.Metadata.Name, Uid = service.Metadata.Uid }],
        },
        AddressType = family,
        // The controller writes an unnamed port's name as "", never leaves it out: kubectl describe relies on it.
        Ports = [.. (service.Spec.Ports ?? []).Select(p => new Discoveryv1EndpointPort
        {
            Name = p.Name ?? string.Empty, Protocol = p.Protocol ?? "TCP", Port = int.TryParse(p.TargetPort?.Value, out var target) ? target : p.Port,
        })],
        Endpoints = [.. PodsByFamily[family].Select(a => new V1Endpoint { Addresses = [a], NodeName = nodeName, Conditions = new V1EndpointConditions { Ready = true } })],
    };
}
