using IpvsOperator.Entities;
using IpvsOperator.Inspection;
using IpvsOperator.Runtime.Text;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Commands;

/// <summary>
/// What `kubectl ipvs status` and `why` make of what nodes published: an IPVSNode is written by an
/// agent, or by anyone with the rights, and the plugin shows it as it is without failing on it.
/// </summary>
public class ServiceReportTests
{
    private static readonly DateTime Now = new(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc);

    [Test]
    public void Status_shows_the_Services_own_ports_with_each_destination_and_says_what_is_not_listed()
    {
        var node = Node("node-a", new IPVSNodeVip
        {
            Address = "192.0.2.10",
            Announced = "l2",
            VirtualServiceCount = 3,
            Services =
            [
                Service("TCP", 80, 3, Destination("10.244.1.2", 1, "passing", active: 4), Destination("10.244.1.3", 0, "failing"), Destination("2001:db8::7", 0, draining: true)),
                Service("TCP", 443, 7, Destination("10.244.1.2", 1)),
                Service("UDP", 53, 1, Destination("10.244.1.9", 1)),
            ],
        });

        var text = ServiceStatusReport.Render(Web(80, 443), View(node), Now);

        text.Should().Contain("""
                  TCP 80 (rr): 3 destinations, connections as of 30s ago
                    10.244.1.2:8080  weight 1, health check passing, 4 active, 0 inactive connections
                    10.244.1.3:8080  weight 0, health check failing, 0 active, 0 inactive connections
                    [2001:db8::7]:8080  weight 0, draining, 0 active, 0 inactive connections
                  TCP 443 (rr): 7 destinations, connections as of 30s ago
                    10.244.1.2:8080  weight 1, 0 active, 0 inactive connections
                    ... 6 more not listed (a node lists 1024 destinations in all)
            """.ReplaceLineEndings("\n"));
        text.Should().NotContain("UDP 53", "a port of the VIP that another Service shares it for is not this Service's");
    }

    [Test]
    public void Why_says_when_every_destination_is_at_weight_0_or_there_is_none()
    {
        var draining = Node("node-a", new IPVSNodeVip { Address = "192.0.2.10", Announced = "l2", VirtualServiceCount = 1, Services = [Service("TCP", 80, 1, Destination("10.244.1.3", 0, draining: true))] });
        ServiceExplanation.Explain(Web(80), View(draining), Now).Should().Contain("every destination on the announcing nodes has weight 0");

        var empty = Node("node-a", new IPVSNodeVip { Address = "192.0.2.10", Announced = "l2", VirtualServiceCount = 1, Services = [Service("TCP", 80, 0)] });
        ServiceExplanation.Explain(Web(80), View(empty), Now).Should().Contain("the Service has no ready endpoint");

        var serving = Node("node-a", new IPVSNodeVip { Address = "192.0.2.10", Announced = "l2", VirtualServiceCount = 1, Services = [Service("TCP", 80, 1, Destination("10.244.1.2", 1))] });
        ServiceExplanation.Explain(Web(80), View(serving), Now).Should().StartWith("Service default/web is served: 192.0.2.10 by node-a (l2).").And.NotContain("weight 0");
    }

    [Test]
    public void A_hostile_IPVSNode_costs_only_its_own_lines()
    {
        // What the API server would hand the plugin from an object written around the agent: nulls
        // where the agent writes values, counts that contradict the lists, extreme numbers.
        var hostile = KubernetesJson.Deserialize<V1Alpha1IPVSNode>("""
            {"apiVersion":"ipvsoperator.io/v1alpha1","kind":"IPVSNode","metadata":{"name":"evil"},
             "status":{"vipsBound":-5,"connectionsSampledAt":"0001-01-01T00:00:00Z","vips":[null,
               {"address":"192.0.2.10","announced":"l2","virtualServiceCount":-2147483648,"services":[null,
                 {"protocol":null,"port":80,"destinationCount":2147483647,"destinations":[null,{"address":null,"port":-1,"weight":9223372036854775807,"activeConnections":-1}]},
                 {"protocol":"tcp","port":80,"scheduler":null,"destinationCount":-1,"destinations":[{"address":"10.0.0.1","port":65536,"weight":-9223372036854775808,"health":"x\u001b[2J"}]}]}]}}
            """);
        var honest = Node("node-b", new IPVSNodeVip { Address = "192.0.2.10", Announced = "l2", VirtualServiceCount = 1, Services = [Service("TCP", 80, 1, Destination("10.244.1.2", 1))] });

        var text = ServiceStatusReport.Render(Web(80), View(hostile, honest), Now);
        var why = ServiceExplanation.Explain(Web(80), View(hostile, honest), Now);

        text.Should().Contain("node node-b").And.Contain("10.244.1.2:8080  weight 1", "the other node is shown as it published");
        text.Should().Contain("node evil");
        TerminalText.Printable(text).Should().NotContain("\u001b", "an escape sequence never reaches the terminal").And.Contain("x\\u001b[2J", "it is shown escaped");
        why.Should().StartWith("Service default/web is served: 192.0.2.10 by node-b (l2).", "a node whose agent is not ready and never synced is not believed");
    }

    [Test]
    public void Why_believes_only_current_nodes_and_the_controllers_own_Events()
    {
        var stale = Node("node-b", new IPVSNodeVip { Address = "192.0.2.10", Announced = "l2", VirtualServiceCount = 1, Services = [Service("TCP", 80, 0)] });
        stale.Status.Ready = false;
        stale.Status.LastSync!.Time = Now.AddHours(-2);

        var claim = new V1Alpha1IPAllocation
        {
            Metadata = new V1ObjectMeta { Name = "ipv4-192-0-2-10" },
            Spec = new IPAllocationSpec { Address = "192.0.2.10", Pool = "pool", ServiceRef = new ServiceReference { Namespace = "default", Name = "web" } },
        };
        ServiceExplanation.Explain(Web(80), new ClusterView([], [claim], [stale], []), Now).Should()
            .StartWith("Service default/web has its address but no node serves it: 192.0.2.10 is listed as announced only by node-b (its agent is NOT ready), whose word is not current")
            .And.NotContain("no ready endpoint", "what a stale node lists of the endpoints is not repeated as fact");

        var pending = Web(80);
        pending.Status = new V1ServiceStatus();
        Corev1Event Failed(string component, string message, DateTime at, int count = 1) => new()
        {
            Reason = WellKnown.Events.AllocationFailed, Type = "Warning", Message = message, Count = count, LastTimestamp = at,
            ReportingComponent = component, Source = new V1EventSource { Component = component },
        };
        var events = new[]
        {
            Failed(ServiceExplanation.ControllerComponent, "no free IPv4 address: pool full", Now.AddMinutes(-1), count: 4),
            Failed("someone", "forged by a namespace editor", Now.AddSeconds(-1)),
            Failed(ServiceExplanation.ControllerComponent, "dated 2099 so as to stay the latest", new DateTime(2099, 1, 1, 0, 0, 0, DateTimeKind.Utc), count: -3),
        };

        ServiceExplanation.Explain(pending, new ClusterView([], [], [], events), Now).Should()
            .StartWith("Service default/web has no address: the controller said \"no free IPv4 address: pool full\" (Warning AllocationFailed, 4 time(s))");
    }

    [Test]
    public void A_value_cannot_forge_a_line_or_reach_the_terminal_as_a_control()
    {
        var forged = Node("node-a", new IPVSNodeVip
        {
            Address = "192.0.2.10",
            Announced = "l2",
            VirtualServiceCount = 1,
            Services = [Service("TCP", 80, 1, Destination("1.2.3.4\n    node local-node: announced (layer 2); ready\u202e", 1))],
        });

        var text = TerminalText.Printable(ServiceStatusReport.Render(PrintableValues.Of(Web(80)), View(forged).Printable(), Now));

        text.Should().Contain("1.2.3.4\\u000a    node local-node: announced (layer 2); ready\\u202e:8080  weight 1", "the value stays on its line, escaped")
            .And.NotContain("\u202e").And.NotContain("\n    node local-node");
    }

    private static V1Service Web(params int[] ports) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "default" },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [.. ports.Select(p => new V1ServicePort { Port = p })] },
        Status = new V1ServiceStatus { LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "192.0.2.10" }] } },
    };

    private static ClusterView View(params V1Alpha1IPVSNode[] nodes) => new([], [], nodes, []);

    private static V1Alpha1IPVSNode Node(string name, IPVSNodeVip vip) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Status = new IPVSNodeStatus { Ready = true, VipsBound = 1, Vips = [vip], ConnectionsSampledAt = Now.AddSeconds(-30), LastSync = new IPVSNodeSync { Time = Now.AddSeconds(-20), Result = "ok" } },
    };

    private static IPVSNodeVirtualService Service(string protocol, int port, int count, params IPVSNodeDestination[] destinations) =>
        new() { Protocol = protocol, Port = port, Scheduler = "rr", DestinationCount = count, Destinations = [.. destinations] };

    private static IPVSNodeDestination Destination(string address, long weight, string? health = null, bool draining = false, long active = 0) => new()
    {
        Address = address,
        Port = 8080,
        Weight = weight,
        Health = health,
        Draining = draining ? true : null,
        ActiveConnections = active,
        InactiveConnections = 0,
    };
}
