using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Dataplane.Probing;
using IpvsOperator.Tests.Dataplane.Probing;

namespace IpvsOperator.Tests.Commands;

/// <summary>Local mode probes loopback endpoints only: the stand-in pods and anything else are never contacted.</summary>
public class LoopbackOnlyProberTests
{
    private static Probe Tcp(string address) => new(ProbeProtocol.Tcp, IPAddressValue.Parse(address), 8080, "/", 200, 399, TimeSpan.FromSeconds(2));

    [Test]
    public async Task Only_loopback_endpoints_reach_the_real_prober()
    {
        var real = new ScriptedProber { Answer = _ => new ProbeResult(ProbeFailure.Refused, TimeSpan.Zero, "refused") };
        using var prober = new LoopbackOnlyProber(real);
        var standIn = Tcp("10.244.0.10");
        var local = Tcp("127.0.0.1");
        var local6 = Tcp("::1");

        (await prober.ProbeAsync(standIn, CancellationToken.None)).Healthy.Should().BeTrue();
        (await prober.ProbeAsync(local, CancellationToken.None)).Failure.Should().Be(ProbeFailure.Refused);
        (await prober.ProbeAsync(local6, CancellationToken.None)).Failure.Should().Be(ProbeFailure.Refused);
        real.Calls.Keys.Should().BeEquivalentTo([local, local6]);
    }
}
