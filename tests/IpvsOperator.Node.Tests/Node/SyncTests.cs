using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Node;
using Microsoft.Extensions.Logging.Abstractions;

namespace IpvsOperator.Tests.Node;

/// <summary>Diff and apply against the in-memory dataplane: order, drift repair, ownership.</summary>
public class SyncTests
{
    private static readonly IPAddressValue Vip = IPAddressValue.Parse("192.0.2.10");
    private InMemoryIpvs ipvs = null!;
    private InMemoryAddressManager links = null!;
    private SyncApplier applier = null!;

    [SetUp]
    public void CreateBindInterface()
    {
        // A fresh kernel for every test: one test's failure must not leave state to the next.
        ipvs = new InMemoryIpvs();
        links = new InMemoryAddressManager();
        links.EnsureDummyLink("ipvs-lb0");
        applier = new SyncApplier(ipvs, new BindLink(links, "ipvs-lb0", NullLogger.Instance), NullLogger.Instance);
    }

    private static VirtualServiceKey Key(ushort port, IPAddressValue? vip = null) => new(vip ?? Vip, IpvsProtocol.TCP, port);

    private static Destination Backend(string address, uint weight = 1) => new(IPAddressValue.Parse(address), 8080, weight);

    private static DesiredState Desired(params (VirtualService Service, Destination[] Destinations)[] services) => new(
        services.Select(s => s.Service.Key.Address).ToHashSet(),
        services.ToDictionary(s => s.Service.Key, s => (s.Service, (IReadOnlyList<Destination>)s.Destinations)),
        new HashSet<VirtualServiceKey>());

    private static bool Ours(IPAddressValue address) => address.ToString().StartsWith("192.0.2.", StringComparison.Ordinal);

    [Test]
    public void A_cold_start_programs_everything_and_a_re_sync_with_nothing_to_change_writes_nothing()
    {
        var desired = Desired(
            (new VirtualService(Key(80)), [Backend("10.0.0.2"), Backend("10.0.0.3")]),
            (new VirtualService(Key(443), "sh"), [Backend("10.0.0.2"), Backend("10.0.0.3")]));

        var first = applier.Sync(desired, Ours);
        first.Writes.Should().Be(7, "1 address, 2 services, 4 destinations");
        first.Errors.Should().BeEmpty();

        links.ListAddresses("ipvs-lb0").Should().Equal(Vip);
        ipvs.ListDestinations(Key(443)).Should().HaveCount(2);
        var again = applier.Sync(desired, Ours);
        again.Writes.Should().Be(0, "a re-sync with nothing to change issues no write to the kernel");
    }

    [Test]
    public void A_rule_deleted_by_hand_is_back_after_the_next_sync()
    {
        var desired = Desired((new VirtualService(Key(80)), [Backend("10.0.0.2"), Backend("10.0.0.3")]));
        applier.Sync(desired, Ours);

        ipvs.DeleteService(Key(80));
        links.RemoveAddress("ipvs-lb0", Vip);

        applier.Sync(desired, Ours).Writes.Should().Be(4);
        ipvs.ListDestinations(Key(80)).Should().HaveCount(2);
        links.ListAddresses("ipvs-lb0").Should().Contain(Vip);
    }

    [Test]
    public void Foreign_services_and_addresses_survive_every_sync_and_stale_owned_ones_go()
    {
        var foreignVip = IPAddressValue.Parse("10.96.99.99");
        var foreign = new VirtualService(Key(80, foreignVip));
        ipvs.AddService(foreign);
        links.AddAddress("ipvs-lb0", foreignVip);
        var stale = IPAddressValue.Parse("192.0.2.20");
        ipvs.AddService(new VirtualService(Key(80, stale)));
        links.AddAddress("ipvs-lb0", stale);

        applier.Sync(Desired((new VirtualService(Key(80)), [Backend("10.0.0.2")])), Ours);

        ipvs.ListServices().Select(s => s.Key).Should().BeEquivalentTo([foreign.Key, Key(80)]);
        links.ListAddresses("ipvs-lb0").Should().BeEquivalentTo([foreignVip, Vip]);
    }

    [Test]
    public void New_endpoints_are_added_before_old_ones_are_removed()
    {
        applier.Sync(Desired((new VirtualService(Key(80)), [Backend("10.0.0.2"), Backend("10.0.0.3")])), Ours);

        var plan = SyncPlanner.Plan(Desired((new VirtualService(Key(80)), [Backend("10.0.0.4"), Backend("10.0.0.5")])), applier.ReadActual(), Ours);

        plan.Select(o => o.GetType().Name).Should().Equal("AddDestination", "AddDestination", "DeleteDestination", "DeleteDestination");
    }

    [Test]
    public void Weight_and_scheduler_changes_update_in_place()
    {
        applier.Sync(Desired((new VirtualService(Key(80)), [Backend("10.0.0.2")])), Ours);

        var plan = SyncPlanner.Plan(Desired((new VirtualService(Key(80), "wlc"), [Backend("10.0.0.2", 0)])), applier.ReadActual(), Ours);

        plan.Should().Equal(new SyncOperation.UpdateService(new VirtualService(Key(80), "wlc")), new SyncOperation.UpdateDestination(Key(80), Backend("10.0.0.2", 0)));
    }

    [Test]
    public void A_refused_operation_is_reported_and_the_rest_still_applied()
    {
        var result = applier.Sync(Desired(
            (new VirtualService(Key(80), "no-such-scheduler"), []),
            (new VirtualService(Key(443)), [Backend("10.0.0.2")])), Ours);

        result.Errors.Should().ContainSingle().Which.Should().Contain("no-such-scheduler");
        ipvs.ListDestinations(Key(443)).Should().ContainSingle();
    }

    [Test]
    public void A_sync_that_removes_several_virtual_services_removes_them_all_in_a_stable_order()
    {
        // A two-port Service deleted: both of its virtual services go in one sync (this threw
        // "Failed to compare two elements" while the keys could not be ordered).
        applier.Sync(Desired((new VirtualService(Key(80)), [Backend("10.0.0.2")]), (new VirtualService(Key(443)), [Backend("10.0.0.2")])), Ours);

        var plan = SyncPlanner.Plan(Desired(), applier.ReadActual(), Ours);

        plan.Should().Equal(
            new SyncOperation.DeleteService(Key(80)),
            new SyncOperation.DeleteService(Key(443)),
            new SyncOperation.UnbindAddress(Vip));
        applier.Sync(Desired(), Ours).Errors.Should().BeEmpty();
        ipvs.ListServices().Should().BeEmpty();
    }

    [Test]
    public void Virtual_service_keys_order_by_address_then_protocol_then_port()
    {
        var other = IPAddressValue.Parse("192.0.2.9");
        VirtualServiceKey[] keys = [Key(443), new(Vip, IpvsProtocol.UDP, 53), Key(80), new(other, IpvsProtocol.TCP, 8080)];

        keys.Order().Should().Equal(new VirtualServiceKey(other, IpvsProtocol.TCP, 8080), Key(80), Key(443), new VirtualServiceKey(Vip, IpvsProtocol.UDP, 53));
    }
}
