using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Node.Health;
using IpvsOperator.Readers;
using IpvsOperator.Tests.Node.Health;

namespace IpvsOperator.Tests.Commands;

/// <summary>Local mode probes loopback endpoints only: the stand-in pods and anything else are never contacted.</summary>
public class LoopbackOnlyProberTests
{
    private static readonly HealthCheck Tcp = new(HealthCheckProtocol.Tcp, null, "/", 200, 399, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), 2, 3);

    [Test]
    public async Task Only_loopback_endpoints_reach_the_real_prober()
    {
        var real = new ScriptedProber { Answer = _ => new ProbeResult(ProbeFailure.Refused, TimeSpan.Zero, "refused") };
        using var prober = new LoopbackOnlyProber(real);
        var standIn = new ProbeTarget(IPAddressValue.Parse("10.244.0.10"), 8080, Tcp);
        var local = new ProbeTarget(IPAddressValue.Parse("127.0.0.1"), 8080, Tcp);
        var local6 = new ProbeTarget(IPAddressValue.Parse("::1"), 8080, Tcp);

        (await prober.ProbeAsync(standIn, CancellationToken.None)).Healthy.Should().BeTrue();
        (await prober.ProbeAsync(local, CancellationToken.None)).Failure.Should().Be(ProbeFailure.Refused);
        (await prober.ProbeAsync(local6, CancellationToken.None)).Failure.Should().Be(ProbeFailure.Refused);
        real.Calls.Keys.Should().BeEquivalentTo([local, local6]);
    }
}
