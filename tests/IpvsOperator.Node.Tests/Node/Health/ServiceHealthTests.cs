using IpvsOperator.Addressing;
using IpvsOperator.Node;
using IpvsOperator.Node.Health;
using IpvsOperator.Readers;

namespace IpvsOperator.Tests.Node.Health;

/// <summary>A node's probes summed up per Service, and how the Service's condition words them.</summary>
public class ServiceHealthTests
{
    private static readonly HealthCheck Tcp = new(HealthCheckProtocol.Tcp, null, "/", 200, 399, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), 2, 3);

    private static ProbeTarget Target(int i) => new(IPAddressValue.Parse($"10.0.0.{i}"), 8080, Tcp);

    [Test]
    public void Each_Service_counts_the_targets_that_lead_to_it_and_lists_the_failing_in_address_order()
    {
        var probed = new Dictionary<ProbeTarget, IReadOnlyCollection<(string, string)>>
        {
            [Target(3)] = [("default", "web"), ("default", "api")],
            [Target(2)] = [("default", "web")],
            [Target(1)] = [("default", "web")],
        };

        var health = ServiceHealth.Of(probed, t => t != Target(2));

        health[("default", "web")].Should().BeEquivalentTo(new { Protocol = HealthCheckProtocol.Tcp, Passing = 1, Total = 3 });
        health[("default", "web")].Failing.Should().Equal(Target(1), Target(3));
        health[("default", "api")].Failing.Should().Equal(Target(3));
        health[("default", "api")].Passing.Should().Be(0);
    }

    [Test]
    public void The_message_names_at_most_five_failing_endpoints_and_says_when_all_are_kept()
    {
        var condition = new HealthCondition(null!, "node-a");

        condition.Message(new ServiceHealth(HealthCheckProtocol.Http, 3, [])).Should().Be("3 of 3 endpoints pass their http health check from node-a");
        condition.Message(new ServiceHealth(HealthCheckProtocol.Tcp, 1, [.. Enumerable.Range(1, 7).Select(Target)])).Should().Be(
            "1 of 8 endpoints pass their tcp health check from node-a; failing: 10.0.0.1:8080, 10.0.0.2:8080, 10.0.0.3:8080, 10.0.0.4:8080, 10.0.0.5:8080 and 2 more: they get no new connections");
        condition.Message(new ServiceHealth(HealthCheckProtocol.Tcp, 0, [Target(1)])).Should().Be(
            "0 of 1 endpoints pass their tcp health check from node-a; failing: 10.0.0.1:8080: every endpoint fails, so all are kept (fail open)");
    }
}
