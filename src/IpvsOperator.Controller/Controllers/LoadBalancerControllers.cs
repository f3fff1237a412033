using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Controllers;
using IpvsOperator.Runtime.Events;
using IpvsOperator.Runtime.Hosting;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Controllers;

/// <summary>
/// Registers the three controllers of the load balancer with the runtime. Each leadership term
/// gets a fresh <see cref="AllocationTerm"/> over that term's caches: a new leader trusts only what
/// the API server says.
/// </summary>
internal static class LoadBalancerControllers
{
    public static OperatorRuntime AddLoadBalancerControllers(this OperatorRuntime runtime, IKubernetes kubernetes, ControllerSettings settings,
        ILoggerFactory loggers, ControllerOptions? options = null, TimeProvider? time = null)
    {
        var clock = time ?? TimeProvider.System;
        var serviceClient = new EntityClient<V1Service>(kubernetes);
        var poolClient = new EntityClient<V1Alpha1IPPool>(kubernetes);
        var allocationClient = new EntityClient<V1Alpha1IPAllocation>(kubernetes);
        var namespaceClient = new EntityClient<V1Namespace>(kubernetes);
        var events = new EventRecorder(ApiConnection.Of(kubernetes), "ipvs-operator-controller", loggers.CreateLogger<EventRecorder>(), clock);
        return runtime.AddControllers(newTerm =>
        {
            var services = newTerm.Watch<V1Service>(options);
            var pools = newTerm.Watch<V1Alpha1IPPool>(options);
            var allocations = newTerm.Watch<V1Alpha1IPAllocation>(options);
            var term = new AllocationTerm(services, pools, allocations, loggers.CreateLogger<AllocationTerm>());
            return
            [
                services.RunWith(
                    new ServiceController(term, serviceClient, allocationClient, namespaceClient, events, settings, loggers.CreateLogger<ServiceController>()),
                    [new ReleaseAddressFinalizer(term, allocationClient, events)]),
                pools.RunWith(new PoolController(term, poolClient, events, clock), [new PoolInUseFinalizer(term, events)]),
                allocations.RunWith(new AllocationController(term, allocationClient, serviceClient, loggers.CreateLogger<AllocationController>())),
            ];
        });
    }
}
