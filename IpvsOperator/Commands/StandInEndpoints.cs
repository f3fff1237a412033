using IpvsOperator.Node;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Watching;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Commands;

/// <summary>
/// Local mode runs no pods, so no EndpointSlice controller publishes endpoints: this stands in for
/// it. Every LoadBalancer Service that has no EndpointSlice of its own gets one with two ready
/// stand-in pods on the local node (documentation addresses of 10.244.0.0/16, never contacted: the
/// in-memory dataplane forwards nothing), kept in line with the Service's ports, owned by the
/// Service so that it goes with it. A Service with slices of its own (published by hand) is left alone.
/// </summary>
public sealed class StandInEndpoints(IKubernetes kubernetes, string nodeName, ILoggerFactory loggers)
{
    public const string StandInLabel = "ipvsoperator.io/stand-in";

    private static readonly string[] Pods = ["10.244.0.10", "10.244.0.11"];
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
                foreach (var service in services.Items.Where(s => s.Spec?.Type == "LoadBalancer"))
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
        if (own.Any(s => s.Metadata.Labels?.ContainsKey(StandInLabel) != true))
        {
            return; // endpoints published by someone else: theirs to keep
        }
        var wanted = Slice(service);
        var current = own.FirstOrDefault();
        try
        {
            if (current is null)
            {
                await slices.CreateAsync(wanted, cancellationToken);
                logger.LogInformation("stand-in endpoints {Pods} for {Namespace}/{Service} (local mode runs no pods)", string.Join(", ", Pods), ns, name);
            }
            else if (ApiJson.Serialize(current.Ports) != ApiJson.Serialize(wanted.Ports))
            {
                current.Ports = wanted.Ports;
                await slices.ReplaceAsync(current, cancellationToken);
            }
        }
        catch (ApiStatusException error) when (error.IsConflict || error.IsAlreadyExists || error.IsNotFound)
        {
            // Changed meanwhile: the next change brings it round again.
        }
    }

    /// <summary>What the EndpointSlice controller would publish for two ready pods of the Service.</summary>
    private V1EndpointSlice Slice(V1Service service) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = $"{service.Metadata.Name}-local",
            NamespaceProperty = service.Metadata.NamespaceProperty,
            Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service.Metadata.Name, [StandInLabel] = "true" },
            OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "Service", Name = service.Metadata.Name, Uid = service.Metadata.Uid }],
        },
        AddressType = "IPv4",
        Ports = [.. (service.Spec.Ports ?? []).Select(p => new Discoveryv1EndpointPort
        {
            Name = p.Name, Protocol = p.Protocol ?? "TCP", Port = int.TryParse(p.TargetPort?.Value, out var target) ? target : p.Port,
        })],
        Endpoints = [.. Pods.Select(a => new V1Endpoint { Addresses = [a], NodeName = nodeName, Conditions = new V1EndpointConditions { Ready = true } })],
    };
}
