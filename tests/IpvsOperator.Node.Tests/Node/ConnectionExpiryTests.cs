using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Readers;
using IpvsOperator.Tests.Support;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// The IPVS settings that let a destination taken out of service let go of its clients
/// (expire_quiescent_template, expire_nodest_conn), and what a Service that asks for resets gets
/// on a node where they cannot be set.
/// </summary>
public class ConnectionExpiryTests
{
    private static readonly IPAddressValue Vip = IPAddressValue.Parse("192.0.2.10");
    private static readonly VirtualServiceKey Http = new(Vip, IpvsProtocol.TCP, 80);
    private static readonly string[] Backends = ["10.0.0.2", "10.0.0.3"];

    /// <summary>A /proc/sys the agent may read but not write, as in a pod without the host's mounted.</summary>
    private sealed class ReadOnlySysctl(string? value) : ISysctl
    {
        public string? Read(string key) => value;

        public void Write(string key, string value) => throw new UnauthorizedAccessException($"Access to the path '/proc/sys/{key}' is denied.");
    }

    private static ClusterView ResetCheckedService()
    {
        var service = new V1Service
        {
            Metadata = new V1ObjectMeta
            {
                Name = "web", NamespaceProperty = "default", Uid = "u1",
                Annotations = new Dictionary<string, string> { [WellKnown.Annotations.HealthCheck] = "tcp", [WellKnown.Annotations.HealthCheckResetConnections] = "true" },
            },
            Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP" }] },
        };
        var slice = new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta { Name = "web-1", NamespaceProperty = "default", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = "web" } },
            AddressType = "IPv4",
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
            Endpoints = [.. Backends.Select(a => new V1Endpoint { Addresses = [a], NodeName = "node-a", Conditions = new V1EndpointConditions { Ready = true } })],
        };
        var claim = new V1Alpha1IPAllocation
        {
            Metadata = new V1ObjectMeta { Name = AllocationNames.For(Vip) },
            Spec = new IPAllocationSpec { Address = Vip.ToString(), Pool = "p", ServiceRef = new ServiceReference { Namespace = "default", Name = "web", Uid = "u1" } },
        };
        return new ClusterView([claim], [service], [slice], []);
    }

    private static KernelSync Kernel(NodeDataplane dataplane) =>
        new(dataplane, new NodeAgentOptions { NodeName = "node-a", DrainTimeout = TimeSpan.FromSeconds(30) }, new ManualClock(), NullLogger.Instance);

    [Test]
    public void The_first_sync_sets_both_settings_and_a_cut_endpoint_leaves_the_kernel_at_once()
    {
        var dataplane = NodeDataplaneFactory.InMemory();
        var kernel = Kernel(dataplane);
        var view = ResetCheckedService();

        kernel.Run(view, SyncTrigger.Periodic).Failure.Should().BeNull();
        dataplane.Sysctl.Read("net/ipv4/vs/expire_nodest_conn").Should().Be("1");
        dataplane.Sysctl.Read("net/ipv4/vs/expire_quiescent_template").Should().Be("1");
        kernel.Run(view, SyncTrigger.Periodic).Writes.Should().Be(0, "a periodic re-sync finds both set and writes nothing");

        kernel.Run(view, SyncTrigger.Change, t => t.Address.ToString() == "10.0.0.3");

        dataplane.Ipvs.ListDestinations(Http).Select(d => $"{d.Address}/{d.Weight}").Should().Equal(["10.0.0.2/1"], "cut, not drained");
        kernel.Draining.Should().Be(0);
    }

    [Test]
    public void Where_the_settings_cannot_be_written_a_cut_endpoint_drains_at_weight_0_instead_of_hanging_its_clients()
    {
        var dataplane = NodeDataplaneFactory.InMemory() with { Sysctl = new ReadOnlySysctl("0") };
        var kernel = Kernel(dataplane);
        var view = ResetCheckedService();
        kernel.Run(view, SyncTrigger.Periodic).Failure.Should().BeNull("the node still serves");

        kernel.Run(view, SyncTrigger.Change, t => t.Address.ToString() == "10.0.0.3");

        dataplane.Ipvs.ListDestinations(Http).OrderBy(d => d.Address).Select(d => $"{d.Address}/{d.Weight}").Should().Equal("10.0.0.2/1", "10.0.0.3/0");
        kernel.Draining.Should().Be(1);
    }

    [Test]
    public void Settings_already_made_on_the_node_are_enough_even_where_the_agent_may_not_write()
    {
        var dataplane = NodeDataplaneFactory.InMemory() with { Sysctl = new ReadOnlySysctl("1") };
        var kernel = Kernel(dataplane);
        var view = ResetCheckedService();
        kernel.Run(view, SyncTrigger.Periodic);

        kernel.Run(view, SyncTrigger.Change, t => t.Address.ToString() == "10.0.0.3");

        dataplane.Ipvs.ListDestinations(Http).Select(d => $"{d.Address}/{d.Weight}").Should().Equal("10.0.0.2/1");
    }
}
