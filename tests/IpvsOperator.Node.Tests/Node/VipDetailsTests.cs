using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Node.Health;
using IpvsOperator.Readers;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>What an IPVSNode lists of each VIP for `kubectl ipvs status`: the kernel's view, bounded whatever the node serves.</summary>
public class VipDetailsTests
{
    private static readonly HealthCheck Tcp = new(HealthCheckProtocol.Tcp, null, "/", 200, 399, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), 2, 3);

    [Test]
    public void Each_destination_shows_its_weight_health_drain_and_the_connections_the_kernel_holds()
    {
        var vip = IPAddressValue.Parse("192.0.2.10");
        var http = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        var up = new Destination(IPAddressValue.Parse("10.244.1.2"), 8080);
        var down = new Destination(IPAddressValue.Parse("10.244.1.3"), 8080, 0);
        var leaving = new Destination(IPAddressValue.Parse("10.244.1.4"), 8080, 0);
        var ipvs = new InMemoryIpvs();
        ipvs.AddService(new VirtualService(http, "mh", SchedulerFlags: IpvsSchedulerFlags.Fallback));
        foreach (var destination in new[] { up, down, leaving })
        {
            ipvs.AddDestination(http, destination);
        }
        ipvs.SetConnections(http, up.Address, up.Port, 7, 2);
        var part = Part(vip, (new VirtualService(http, "mh", SchedulerFlags: IpvsSchedulerFlags.Fallback), [leaving, down, up]));
        var failing = new ProbeTarget(down.Address, 8080, Tcp);
        var probed = new Dictionary<ProbeTarget, IReadOnlyCollection<(string, string)>>
        {
            [new ProbeTarget(up.Address, 8080, Tcp)] = [("default", "web")],
            [failing] = [("default", "web")],
        };
        part = part with { Served = part.Served with { Probed = probed } };

        var details = new VipDetails(ipvs, TimeProvider.System, NullLogger.Instance)
            .Describe([vip], v => v == vip ? part : null, t => t == failing, (key, address, port) => key == http && address == leaving.Address);

        var (count, listed) = details[vip];
        count.Should().Be(1);
        var service = listed.Should().ContainSingle().Subject;
        (service.Protocol, service.Port, service.Scheduler, service.DestinationCount).Should().Be(("TCP", 80, "mh (mh-fallback)", 3));
        service.Destinations!.Select(d => (d.Address, d.Port, d.Weight, d.Health, d.Draining, d.ActiveConnections, d.InactiveConnections)).Should().Equal(
            [("10.244.1.2", 8080, 1L, "passing", (bool?)null, 7L, 2L), ("10.244.1.3", 8080, 0L, "failing", null, 0L, 0L), ("10.244.1.4", 8080, 0L, null, true, 0L, 0L)],
            "in address order; a destination no check probes has no health; the kernel's counts are read once listed");
    }

    [Test]
    public void A_node_serving_thousands_lists_a_bounded_prefix_in_address_order_and_counts_the_rest()
    {
        var ipvs = new InMemoryIpvs();
        var vips = Enumerable.Range(0, 300).Select(i => IPAddressValue.Parse($"198.51.{i / 256}.{i % 256}")).ToList();
        var parts = vips.ToDictionary(v => v, v => Part(v, [.. new ushort[] { 80, 443, 8443 }.Select(port => (
            new VirtualService(new VirtualServiceKey(v, IpvsProtocol.TCP, port)),
            (IReadOnlyList<Destination>)[.. Enumerable.Range(2, 5).Select(i => new Destination(IPAddressValue.Parse($"10.244.0.{i}"), 8080))]))]));
        var reads = 0;
        var counting = new CountingIpvs(ipvs, () => reads++);

        var details = new VipDetails(counting, TimeProvider.System, NullLogger.Instance)
            .Describe(vips.Take(IPVSNodeStatus.MaxListedVips), v => parts.GetValueOrDefault(v), _ => false, (_, _, _) => false);

        var services = details.Values.SelectMany(d => d.Listed).ToList();
        services.Sum(s => s.Destinations!.Count).Should().Be(IPVSNodeStatus.MaxListedDestinations, "the destinations stop at the budget");
        services.Count.Should().BeLessThanOrEqualTo(IPVSNodeStatus.MaxListedVirtualServices);
        services.Should().OnlyContain(s => s.DestinationCount == 5, "a virtual service past the budget still says how many destinations it has");
        details.Values.Should().OnlyContain(d => d.Count == 3, "every VIP says how many virtual services it has, listed or not");
        details.Keys.Should().Equal(vips.Take(IPVSNodeStatus.MaxListedVips), "the listed VIPs, in address order");
        var listedVips = details.Where(d => d.Value.Listed.Count > 0).Select(d => d.Key).ToList();
        listedVips.Should().Equal(vips.Take(listedVips.Count), "the first VIPs are listed, the later ones not");
        reads.Should().Be(services.Count, "connections are read for the listed virtual services only, once each");
    }

    [Test]
    public void Connection_counts_are_read_again_only_when_due_and_an_unreadable_kernel_keeps_the_last()
    {
        var vip = IPAddressValue.Parse("192.0.2.20");
        var key = new VirtualServiceKey(vip, IpvsProtocol.UDP, 53);
        var destination = new Destination(IPAddressValue.Parse("10.244.1.9"), 53);
        var ipvs = new InMemoryIpvs();
        ipvs.AddService(new VirtualService(key));
        ipvs.AddDestination(key, destination);
        ipvs.SetConnections(key, destination.Address, destination.Port, 0, 40);
        var part = Part(vip, (new VirtualService(key), [destination]));
        var clock = new SteppedClock();
        var failing = false;
        var details = new VipDetails(new CountingIpvs(ipvs, () => { if (failing) { throw new DataplaneException(DataplaneError.Failed, "list the connections", "netlink gone"); } }), clock, NullLogger.Instance);
        long? Inactive() => details.Describe([vip], _ => part, _ => false, (_, _, _) => false)[vip].Listed.Single().Destinations!.Single().InactiveConnections;

        Inactive().Should().Be(40);
        var first = details.SampledAt;
        ipvs.SetConnections(key, destination.Address, destination.Port, 0, 41);
        Inactive().Should().Be(40, "not read again before it is due");
        clock.Now += VipDetails.SampleEvery;
        Inactive().Should().Be(41);
        details.SampledAt.Should().BeAfter(first!.Value);

        failing = true;
        clock.Now += VipDetails.SampleEvery;
        Inactive().Should().Be(41, "a failed read keeps the last counts, and their time");
        details.SampledAt.Should().Be(first.Value + VipDetails.SampleEvery);
    }

    [Test]
    public void A_destination_added_between_reads_shows_its_connections_at_once()
    {
        var vip = IPAddressValue.Parse("192.0.2.30");
        var key = new VirtualServiceKey(vip, IpvsProtocol.TCP, 80);
        var first = new Destination(IPAddressValue.Parse("10.244.1.2"), 8080);
        var second = new Destination(IPAddressValue.Parse("10.244.1.3"), 8080);
        var ipvs = new InMemoryIpvs();
        ipvs.AddService(new VirtualService(key));
        var details = new VipDetails(ipvs, new SteppedClock(), NullLogger.Instance);
        IPVSNodeVirtualService Describe(params Destination[] programmed) =>
            details.Describe([vip], _ => Part(vip, (new VirtualService(key), programmed)), _ => false, (_, _, _) => false)[vip].Listed.Single();

        Describe().DestinationCount.Should().Be(0, "the Service's endpoints are not there yet");
        ipvs.AddDestination(key, first);
        ipvs.AddDestination(key, second);
        ipvs.SetConnections(key, second.Address, second.Port, 2, 1);

        Describe(first, second).Destinations!.Select(d => (d.ActiveConnections, d.InactiveConnections)).Should().Equal([(0L, 0L), (2L, 1L)],
            "endpoints that arrive after the last read are read at once, not at the next read half a minute later");
    }

    private static VipPart Part(IPAddressValue vip, params (VirtualService Service, IReadOnlyList<Destination> Destinations)[] services) => new(
        new DesiredState(new HashSet<IPAddressValue> { vip }, services.ToDictionary(s => s.Service.Key, s => s), new HashSet<VirtualServiceKey>()),
        ServedServices.Empty);

    private sealed class SteppedClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>The in-memory IPVS, with a hook on each connection read.</summary>
    private sealed class CountingIpvs(InMemoryIpvs inner, Action onRead) : IIpvs
    {
        public IReadOnlyList<string> Unrepresented => inner.Unrepresented;
        public IReadOnlyList<VirtualService> ListServices() => inner.ListServices();
        public void AddService(VirtualService service) => inner.AddService(service);
        public void UpdateService(VirtualService service) => inner.UpdateService(service);
        public void DeleteService(VirtualServiceKey key) => inner.DeleteService(key);
        public IReadOnlyList<Destination> ListDestinations(VirtualServiceKey key) => inner.ListDestinations(key);
        public void AddDestination(VirtualServiceKey key, Destination destination) => inner.AddDestination(key, destination);
        public void UpdateDestination(VirtualServiceKey key, Destination destination) => inner.UpdateDestination(key, destination);
        public void DeleteDestination(VirtualServiceKey key, IPAddressValue address, ushort port) => inner.DeleteDestination(key, address, port);
        public ServiceStats GetStats(VirtualServiceKey key) => inner.GetStats(key);

        public IReadOnlyList<DestinationConnections> ListConnections(VirtualServiceKey key)
        {
            onRead();
            return inner.ListConnections(key);
        }
    }
}
