using IpvsOperator.Entities;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Node.Health;

/// <summary>
/// The <c>ipvsoperator.io/EndpointsHealthy</c> condition on a health-checked Service: how many of its
/// endpoints pass, and which fail, as the node announcing the Service finds them (its probes steer
/// the Service's traffic; other nodes' views are in their metrics). True while every endpoint
/// passes. Level-based like the Announced condition: written where it differs, after every sync.
/// </summary>
internal sealed class HealthCondition(ServiceConditions conditions, string nodeName)
{
    /// <summary>Failing endpoints named in the message; the rest are counted (an Event names each).</summary>
    public const int FailingNamed = 5;

    /// <param name="health">This node's probes, per checked Service.</param>
    /// <param name="speaksFor">Whether this node announces the Service (and so writes its condition).</param>
    /// <param name="services">Every Service the agent knows.</param>
    public async Task PublishAsync(IReadOnlyDictionary<(string Namespace, string Name), ServiceHealth> health, Func<V1Service, bool> speaksFor,
        IEnumerable<V1Service> services, CancellationToken cancellationToken)
    {
        foreach (var service in services)
        {
            var key = (service.Metadata.NamespaceProperty, service.Metadata.Name);
            if (health.TryGetValue(key, out var found) && speaksFor(service))
            {
                var (status, reason) = found.Failing.Count == 0 ? ("True", "AllPass") : found.Passing == 0 ? ("False", "AllFail") : ("False", "SomeFail");
                await conditions.EnsureAsync(service, WellKnown.Conditions.EndpointsHealthy, status, reason, Message(found), cancellationToken);
            }
            else if (ServiceConditions.Find(service, WellKnown.Conditions.EndpointsHealthy) is not null
                && (speaksFor(service) || service.Spec?.Type != "LoadBalancer" || HealthCheckReader.Read(service).Check is null))
            {
                // Its speaker has nothing to say (no endpoint to probe), or it is checked or a
                // LoadBalancer no longer, which every agent knows alike: whichever writes first clears it.
                await conditions.RemoveAsync(service, WellKnown.Conditions.EndpointsHealthy, cancellationToken);
            }
        }
    }

    internal string Message(ServiceHealth health)
    {
        var kind = health.Protocol.ToString().ToLowerInvariant();
        var message = $"{health.Passing} of {health.Total} endpoints pass their {kind} health check from {nodeName}";
        if (health.Failing.Count == 0)
        {
            return message;
        }
        var named = string.Join(", ", health.Failing.Take(FailingNamed));
        var more = health.Failing.Count > FailingNamed ? $" and {health.Failing.Count - FailingNamed} more" : string.Empty;
        var effect = health.Passing == 0 ? "every endpoint fails, so all are kept (fail open)" : "they get no new connections";
        return $"{message}; failing: {named}{more}: {effect}";
    }
}
