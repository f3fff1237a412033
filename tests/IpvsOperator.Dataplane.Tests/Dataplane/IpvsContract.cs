using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Netlink;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>
/// What IPVS does with services and destinations, errors included. The in-memory implementation is
/// held to it here; the kernel's is held to the same suite inside the test VM.
/// </summary>
public abstract class IpvsContract
{
    protected abstract IIpvs Ipvs { get; }

    /// <summary>
    /// The request is refused with <paramref name="refusal"/>; the kernel's suite also checks the
    /// errno it refuses with (<paramref name="errno"/>), which the in-memory twin does not speak.
    /// </summary>
    protected virtual void ShouldRefuse(Action request, DataplaneError refusal, int errno) =>
        request.Should().Throw<DataplaneException>().Which.Error.Should().Be(refusal);

    private static VirtualServiceKey Key(string address, ushort port = 80, IpvsProtocol protocol = IpvsProtocol.TCP) => new(IPAddressValue.Parse(address), protocol, port);

    [Test]
    public void Services_are_added_listed_updated_and_deleted()
    {
        var key = Key("192.0.2.10");
        Ipvs.AddService(new VirtualService(key, "rr"));
        Ipvs.AddService(new VirtualService(Key("2001:db8::10", 53, IpvsProtocol.UDP), "wrr"));

        Ipvs.ListServices().Should().Contain(new VirtualService(key, "rr"));
        Ipvs.UpdateService(new VirtualService(key, "sh", Persistent: true, TimeoutSeconds: 10800, SchedulerFlags: 0x10));
        Ipvs.ListServices().Single(s => s.Key == key).Should().Be(new VirtualService(key, "sh", true, 10800, 0x10));
        Ipvs.DeleteService(key);
        Ipvs.ListServices().Select(s => s.Key).Should().NotContain(key);
    }

    [Test]
    public void Duplicate_and_missing_services_fail_as_the_kernel_does()
    {
        var key = Key("192.0.2.11");
        Ipvs.AddService(new VirtualService(key));

        ShouldRefuse(() => Ipvs.AddService(new VirtualService(key)), DataplaneError.AlreadyExists, NetlinkException.EEXIST);
        ShouldRefuse(() => Ipvs.DeleteService(Key("192.0.2.99")), DataplaneError.NotFound, NetlinkException.ESRCH);
        ShouldRefuse(() => Ipvs.AddService(new VirtualService(Key("192.0.2.12"), "fastest")), DataplaneError.NotFound, NetlinkException.ENOENT);
    }

    [Test]
    public void Flush_removes_only_the_services_asked_for_and_counters_need_a_service()
    {
        var ours = new[] { Key("192.0.2.30"), Key("192.0.2.31") };
        var foreign = Key("192.0.2.32");
        foreach (var key in ours.Append(foreign))
        {
            Ipvs.AddService(new VirtualService(key));
        }

        Ipvs.Flush([.. ours, Key("192.0.2.33")]).Should().Be(2, "a service already gone is not an error");

        Ipvs.ListServices().Select(s => s.Key).Should().Contain(foreign).And.NotContain(ours);
        Ipvs.GetStats(foreign).Connections.Should().Be(0);
        ((Action)(() => Ipvs.GetStats(ours[0]))).Should().Throw<DataplaneException>().Which.NotFound.Should().BeTrue();
    }

    [Test]
    public void Changes_applied_together_go_in_order_and_a_refused_one_stops_none_after_it()
    {
        var key = Key("192.0.2.22");
        var other = Key("192.0.2.23");
        var backend = new Destination(IPAddressValue.Parse("10.0.0.2"), 8080);
        // More changes than one datagram holds (32 KiB), so that acknowledgements of several are matched.
        var many = Enumerable.Range(0, 600).Select(i => (IpvsChange)new IpvsChange.AddDestination(other, new Destination(new IPAddressValue(IPFamily.IPv4, 0x0A010000u + (uint)i), 80))).ToList();
        IReadOnlyList<IpvsChange> changes =
        [
            new IpvsChange.AddService(new VirtualService(key, "wrr")),
            new IpvsChange.AddDestination(key, backend),
            new IpvsChange.AddDestination(key, backend),
            new IpvsChange.UpdateDestination(key, backend with { Weight = 5 }),
            new IpvsChange.DeleteDestination(key, IPAddressValue.Parse("10.0.0.9"), 8080),
            new IpvsChange.AddService(new VirtualService(other)),
            .. many,
            new IpvsChange.DeleteService(Key("192.0.2.97")),
        ];

        var refused = Ipvs.ApplyAll(changes);

        refused.Select(r => (r.Index, r.Error.Error)).Should().Equal([(2, DataplaneError.AlreadyExists), (4, DataplaneError.NotFound), (changes.Count - 1, DataplaneError.NotFound)],
            "each refusal is told with its index and kind, as the method alone would refuse it");
        refused[0].Error.Message.Should().Contain("add destination").And.Contain("192.0.2.22");
        Ipvs.ListDestinations(key).Should().Equal([backend with { Weight = 5 }], "the update after the refused add was applied");
        Ipvs.ListDestinations(other).Should().HaveCount(600, "a service added in the same batch takes destinations after it");
        Ipvs.ApplyAll([]).Should().BeEmpty();
    }

    [Test]
    public void Connections_are_listed_per_destination_and_a_missing_service_has_none()
    {
        var key = Key("192.0.2.21");
        Ipvs.AddService(new VirtualService(key));
        Ipvs.AddDestination(key, new Destination(IPAddressValue.Parse("10.0.0.2"), 8080));
        Ipvs.AddDestination(key, new Destination(IPAddressValue.Parse("10.0.0.3"), 8081, 0));

        Ipvs.ListConnections(key).Should().BeEquivalentTo(
            [new DestinationConnections(IPAddressValue.Parse("10.0.0.3"), 8081, 0, 0), new DestinationConnections(IPAddressValue.Parse("10.0.0.2"), 8080, 0, 0)],
            "no traffic went through yet, and a destination at weight 0 is listed too");
        Ipvs.ListConnections(Key("192.0.2.98")).Should().BeEmpty("as the destinations' dump, a missing service's is empty");
    }

    [Test]
    public void Destinations_are_added_weighted_and_removed_with_the_kernel_errors()
    {
        var key = Key("192.0.2.20");
        Ipvs.AddService(new VirtualService(key));
        var backend = new Destination(IPAddressValue.Parse("10.0.0.2"), 8080);

        Ipvs.AddDestination(key, backend);
        Ipvs.AddDestination(key, new Destination(IPAddressValue.Parse("10.0.0.3"), 8080, 3));
        ShouldRefuse(() => Ipvs.AddDestination(key, backend), DataplaneError.AlreadyExists, NetlinkException.EEXIST);
        Ipvs.UpdateDestination(key, backend with { Weight = 0 });
        Ipvs.ListDestinations(key).Should().BeEquivalentTo([backend with { Weight = 0 }, new Destination(IPAddressValue.Parse("10.0.0.3"), 8080, 3)]);

        Ipvs.DeleteDestination(key, backend.Address, backend.Port);
        ShouldRefuse(() => Ipvs.DeleteDestination(key, backend.Address, backend.Port), DataplaneError.NotFound, NetlinkException.ENOENT);
        ShouldRefuse(() => Ipvs.AddDestination(Key("192.0.2.98"), backend), DataplaneError.NotFound, NetlinkException.ESRCH);
        Ipvs.ListDestinations(Key("192.0.2.98")).Should().BeEmpty("the kernel's dump of a missing service is empty, not an error");
    }

    /// <summary>
    /// The mh scheduler fills its table from the service's list of destinations in order, so every
    /// node must hold them in the same order: the agent relies on where an add puts one.
    /// </summary>
    [Test]
    public void A_new_destination_is_listed_first_and_an_update_keeps_its_place()
    {
        var key = Key("192.0.2.21");
        Ipvs.AddService(new VirtualService(key, "mh", SchedulerFlags: IpvsSchedulerFlags.Fallback | IpvsSchedulerFlags.Port));
        foreach (var last in new[] { 2, 4, 3 })
        {
            Ipvs.AddDestination(key, new Destination(IPAddressValue.Parse($"10.0.0.{last}"), 8080));
        }
        Ipvs.UpdateDestination(key, new Destination(IPAddressValue.Parse("10.0.0.4"), 8080, 0));

        Ipvs.ListDestinations(key).Select(d => d.Address.ToString()).Should().Equal("10.0.0.3", "10.0.0.4", "10.0.0.2");
        Ipvs.ListServices().Single(s => s.Key == key).SchedulerFlags.Should().Be(IpvsSchedulerFlags.Fallback | IpvsSchedulerFlags.Port);

        Ipvs.DeleteDestination(key, IPAddressValue.Parse("10.0.0.2"), 8080);
        Ipvs.AddDestination(key, new Destination(IPAddressValue.Parse("10.0.0.2"), 8080));
        Ipvs.ListDestinations(key).Select(d => d.Address.ToString()).Should().Equal("10.0.0.2", "10.0.0.3", "10.0.0.4");
    }
}

public class InMemoryIpvsTests : IpvsContract
{
    private InMemoryIpvs ipvs = new();

    [SetUp]
    public void Fresh() => ipvs = new InMemoryIpvs();

    protected override IIpvs Ipvs => ipvs;
}
