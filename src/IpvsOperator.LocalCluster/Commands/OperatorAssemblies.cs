using System.Reflection;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Hosting;

namespace IpvsOperator.Commands;

/// <summary>
/// The assemblies whose entity classes, permissions and webhooks make <c>config/</c>: what
/// <c>ipvs-operator generate</c> writes and what local mode installs. A project that declares an
/// <c>[EntityRbac]</c>, a <c>[ValidatingWebhook]</c> or an entity is listed here.
/// </summary>
public static class OperatorAssemblies
{
    public static IReadOnlyList<Assembly> All { get; } =
    [
        typeof(ApiJson).Assembly, // the runtime (its informers and events)
        typeof(OperatorRuntime).Assembly, // the leader-elected runtime and its webhook server
        typeof(WellKnown).Assembly, // the API types
        typeof(ControllerHost).Assembly, // the controller and its webhooks
        typeof(NodeHost).Assembly, // the node agent
    ];
}
