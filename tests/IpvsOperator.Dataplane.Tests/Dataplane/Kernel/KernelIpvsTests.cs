using System.Diagnostics;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Ipvs;
using IpvsOperator.Dataplane.Netlink;
using IpvsOperator.Tests.Support;
using static IpvsOperator.Tests.Support.Processes;

namespace IpvsOperator.Tests.Dataplane.Kernel;

/// <summary>The IPVS contract against the real kernel (runs only in the kernel VM: make test-kernel).</summary>
[Category("Kernel")]
[NonParallelizable]
public class KernelIpvsContractTests : IpvsContract
{
    private IpvsNetlink ipvs = null!;

    [OneTimeSetUp]
    public void Open()
    {
        KernelRequirement.Ipvs();
        ipvs = IpvsNetlink.Open();
    }

    [OneTimeTearDown]
    public void Close() => ipvs?.Dispose();

    [SetUp]
    public void Clear()
    {
        foreach (var service in ipvs.ListServices())
        {
            ipvs.DeleteService(service.Key);
        }
    }

    protected override IIpvs Ipvs => ipvs;

    protected override void ShouldRefuse(Action request, DataplaneError refusal, int errno) =>
        request.Should().Throw<NetlinkException>().Where(e => e.Error == refusal && e.ErrorNumber == errno);
}

/// <summary>
/// The client's rules as an independent tool reads them, a dummy link, and real TCP through a VIP
/// to backends in network namespaces the test creates inside the VM.
/// </summary>
[Category("Kernel")]
[NonParallelizable]
public class KernelTrafficTests
{
    private static readonly IPAddressValue Vip = IPAddressValue.Parse("10.96.0.10");
    private static readonly VirtualServiceKey Http = new(Vip, IpvsProtocol.TCP, 80);
    private readonly List<Process> servers = [];
    private IpvsNetlink ipvs = null!;
    private RouteNetlink route = null!;

    [OneTimeSetUp]
    public async Task BuildNetworkAsync()
    {
        KernelRequirement.Ipvs();
        ipvs = IpvsNetlink.Open();
        route = RouteNetlink.Open();
        route.EnsureDummyLink("ipvs-lb0");
        route.AddAddress("ipvs-lb0", Vip);
        foreach (var i in new[] { 2, 3 })
        {
            await Sh($"ip netns add be{i}");
            await Sh($"ip link add vh{i} type veth peer name eth0 netns be{i}");
            await Sh($"ip addr add 10.0.0.1/32 dev vh{i}");
            await Sh($"ip link set vh{i} up");
            await Sh($"ip route add 10.0.0.{i}/32 dev vh{i}");
            await Sh($"ip -n be{i} link set lo up");
            await Sh($"ip -n be{i} link set eth0 up");
            await Sh($"ip -n be{i} addr add 10.0.0.{i}/24 dev eth0");
            await Sh($"ip -n be{i} route add default via 10.0.0.1 dev eth0 onlink");
            Directory.CreateDirectory($"/tmp/www{i}");
            await File.WriteAllTextAsync($"/tmp/www{i}/index.html", $"be{i}\n");
            servers.Add(Process.Start("ip", ["netns", "exec", $"be{i}", "busybox", "httpd", "-f", "-p", "8080", "-h", $"/tmp/www{i}"]));
        }
        await Sh("ip netns add cl");
        await Sh("ip link add vc type veth peer name eth0 netns cl");
        await Sh("ip addr add 10.1.0.1/24 dev vc");
        await Sh("ip link set vc up");
        await Sh("ip -n cl link set lo up");
        await Sh("ip -n cl link set eth0 up");
        await Sh("ip -n cl addr add 10.1.0.2/24 dev eth0");
        await Sh("ip -n cl route add default via 10.1.0.1");
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        servers.ForEach(s => { s.Kill(); s.Dispose(); });
        ipvs?.Dispose();
        route?.Dispose();
    }

    [SetUp]
    public void Clear()
    {
        foreach (var service in ipvs.ListServices())
        {
            ipvs.DeleteService(service.Key);
        }
    }

    private void Program(VirtualService service, params Destination[] destinations)
    {
        ipvs.AddService(service);
        foreach (var destination in destinations)
        {
            ipvs.AddDestination(service.Key, destination);
        }
    }

    private static Destination Backend(int i, uint weight = 1) => new(IPAddressValue.Parse($"10.0.0.{i}"), 8080, weight);

    [Test]
    public void The_dummy_bind_link_holds_the_VIP()
    {
        route.ListLinks().Should().Contain(l => l.Name == "ipvs-lb0" && l.Kind == "dummy" && l.Up);
        route.ListAddresses("ipvs-lb0").Should().Contain(Vip);
    }

    [Test]
    public async Task Every_rule_the_client_writes_is_what_ipvsadm_reads()
    {
        Program(new VirtualService(Http, "wrr", Persistent: true, TimeoutSeconds: 300), Backend(2, 2), Backend(3, 3) with { Method = ForwardMethod.DirectRoute });
        Program(new VirtualService(new VirtualServiceKey(IPAddressValue.Parse("10.96.0.11"), IpvsProtocol.UDP, 53), "sh", SchedulerFlags: IpvsConstants.FlagSchedSh2), Backend(2));
        ipvs.AddService(new VirtualService(new VirtualServiceKey(IPAddressValue.Parse("2001:db8::10"), IpvsProtocol.SCTP, 443), "mh"));

        var table = await Sh("ipvsadm -Ln");

        table.Should().MatchRegex(@"TCP\s+10\.96\.0\.10:80 wrr persistent 300");
        table.Should().MatchRegex(@"->\s+10\.0\.0\.2:8080\s+Masq\s+2");
        table.Should().MatchRegex(@"->\s+10\.0\.0\.3:8080\s+Route\s+3");
        table.Should().MatchRegex(@"UDP\s+10\.96\.0\.11:53 sh \(sh-port\)");
        table.Should().MatchRegex(@"SCTP\s+\[2001:db8::10\]:443 mh");
        ipvs.ListServices().Should().HaveCount(3);
    }

    [Test]
    public async Task Round_robin_spreads_connections_over_the_backends()
    {
        Program(new VirtualService(Http, "rr"), Backend(2), Backend(3));

        var answers = await RequestsAsync(6);

        answers.Count(a => a == "be2").Should().Be(3);
        answers.Count(a => a == "be3").Should().Be(3);
    }

    [TestCase("sh", false)]
    [TestCase("rr", true)]
    public async Task Source_hashing_and_persistence_keep_a_client_on_one_backend(string scheduler, bool persistent)
    {
        Program(new VirtualService(Http, scheduler, Persistent: persistent, TimeoutSeconds: persistent ? 60u : 0), Backend(2), Backend(3));

        var answers = await RequestsAsync(6);

        answers.Distinct().Should().ContainSingle($"{scheduler}{(persistent ? " with persistence" : string.Empty)} keeps one client on one backend");
    }

    [Test]
    public async Task Counters_count_the_connections_through_a_service()
    {
        Program(new VirtualService(Http, "rr"), Backend(2), Backend(3));

        await RequestsAsync(4);

        // The kernel sums its per-CPU counters in the estimator, every 2 s: poll.
        await Eventually.TrueAsync(() => ipvs.GetStats(Http).Connections == 4, "the counters show the 4 connections");
        var stats = ipvs.GetStats(Http);
        stats.PacketsIn.Should().BeGreaterThan(0);
        stats.BytesOut.Should().BeGreaterThan(0);
        // Each request's connection stays in the table (TIME_WAIT: inactive) for two minutes, on the backend that served it.
        var held = ipvs.ListConnections(Http);
        held.Select(c => (c.Address.ToString(), c.Active + c.Inactive)).Should().BeEquivalentTo([(Backend(2).Address.ToString(), 2u), (Backend(3).Address.ToString(), 2u)],
            "round robin gave each backend two of the four connections, and the kernel still holds them");
    }

    [Test]
    public async Task Weights_change_the_spread()
    {
        Program(new VirtualService(Http, "wrr"), Backend(2, 3), Backend(3, 1));

        var answers = await RequestsAsync(8);

        answers.Count(a => a == "be2").Should().Be(6);
        answers.Count(a => a == "be3").Should().Be(2);
    }

    private static async Task<List<string>> RequestsAsync(int count)
    {
        var answers = new List<string>();
        for (var i = 0; i < count; i++)
        {
            answers.Add((await Sh($"ip netns exec cl curl -s -m 5 http://{Vip}/")).Trim());
        }
        return answers;
    }
}
