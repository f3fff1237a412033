using IpvsOperator.Addressing;
using IpvsOperator.Ipam;
using IpvsOperator.Selection;

namespace IpvsOperator.Tests.Ipam;

/// <summary>The allocator's rules, case by case, in the spirit of MetalLB's allocator tests.</summary>
public class AllocatorTests
{
    private static readonly ServicePort Http = new(PortProtocol.TCP, 80);
    private static readonly ServicePort Https = new(PortProtocol.TCP, 443);
    private static readonly ServicePort Dns = new(PortProtocol.UDP, 53);

    private static Pool MakePool(string name, string addresses, bool autoAssign = true, bool avoidBuggy = false, int priority = 0, ServiceScope? scope = null) =>
        Pool.Parse(name, addresses.Split(','), autoAssign, avoidBuggy, priority, scope).Pool
        ?? throw new ArgumentException($"bad test pool {addresses}");

    private static Allocator WithPools(params Pool[] pools)
    {
        var allocator = new Allocator();
        allocator.SetPools(pools).Should().BeEmpty();
        return allocator;
    }

    private static ServiceRequest Request(string name, string? address = null, string? pool = null, string? key = null,
        ServicePort[]? ports = null, IPFamily[]? families = null, bool requireAll = true, string ns = "default",
        Dictionary<string, string>? labels = null, Dictionary<string, string>? namespaceLabels = null, string[]? shareWith = null) => new()
    {
        SharingNamespaces = (shareWith ?? []).ToHashSet(),
        Service = new ServiceKey(ns, name),
        RequestedAddresses = address is null ? [] : [.. address.Split(',').Select(IPAddressValue.Parse)],
        Pool = pool,
        SharingKey = key,
        Ports = ports ?? [Http],
        Families = families ?? [IPFamily.IPv4],
        RequireAllFamilies = requireAll,
        Labels = labels ?? [],
        NamespaceLabels = namespaceLabels ?? [],
    };

    private static string Single(AllocationResult result)
    {
        result.Failure.Should().BeNull();
        return result.Addresses.Should().ContainSingle().Subject.Address.ToString();
    }

    [Test]
    public void Hands_out_the_first_free_address_and_reports_the_pool()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));

        var result = allocator.Allocate(Request("web"));

        Single(result).Should().Be("192.0.2.0");
        result.Addresses[0].Pool.Should().Be("a");
        result.Changed.Should().BeTrue();
        Single(allocator.Allocate(Request("api"))).Should().Be("192.0.2.1");
    }

    [Test]
    public void Allocating_again_for_the_same_Service_is_a_no_op()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        var first = Single(allocator.Allocate(Request("web")));

        var again = allocator.Allocate(Request("web"));

        Single(again).Should().Be(first);
        again.Changed.Should().BeFalse();
        allocator.Usage("a").Single().Allocated.Should().Be(1);
    }

    [Test]
    public void Another_Service_cannot_take_a_held_address()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        allocator.Allocate(Request("web", address: "192.0.2.2")).Succeeded.Should().BeTrue();

        var result = allocator.Allocate(Request("api", address: "192.0.2.2"));

        result.Failure!.Reason.Should().Be(AllocationFailureReason.RequestedAddressTaken);
        result.Failure.Message.Should().Contain("192.0.2.2").And.Contain("default/web");
        allocator.AddressesOf(new ServiceKey("default", "api")).Should().BeEmpty();
    }

    [Test]
    public void A_released_address_can_be_used_again()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/31"));
        Single(allocator.Allocate(Request("web"))).Should().Be("192.0.2.0");
        Single(allocator.Allocate(Request("api"))).Should().Be("192.0.2.1");

        allocator.Release(new ServiceKey("default", "web")).Select(a => a.ToString()).Should().Equal("192.0.2.0");

        Single(allocator.Allocate(Request("db"))).Should().Be("192.0.2.0");
        allocator.Release(new ServiceKey("default", "nobody")).Should().BeEmpty();
    }

    [Test]
    public void Exhaustion_is_reported_with_the_pool_and_its_counts()
    {
        var allocator = WithPools(MakePool("small", "192.0.2.0/31"));
        allocator.Allocate(Request("a")).Succeeded.Should().BeTrue();
        allocator.Allocate(Request("b")).Succeeded.Should().BeTrue();

        var result = allocator.Allocate(Request("c"));

        result.Failure!.Reason.Should().Be(AllocationFailureReason.PoolExhausted);
        result.Failure.Message.Should().Contain("small (2 of 2 in use)");
    }

    [Test]
    public void Avoiding_buggy_IPs_skips_dot_0_and_dot_255_in_every_block()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.254-192.0.3.1", avoidBuggy: true));

        Single(allocator.Allocate(Request("s1"))).Should().Be("192.0.2.254");
        Single(allocator.Allocate(Request("s2"))).Should().Be("192.0.3.1");
        allocator.Allocate(Request("s3")).Failure!.Reason.Should().Be(AllocationFailureReason.PoolExhausted);
        allocator.Usage("a").Single().Capacity.Should().Be(2);

        var requested = allocator.Allocate(Request("s4", address: "192.0.3.0"));
        requested.Failure!.Reason.Should().Be(AllocationFailureReason.RequestedAddressUnusable);
        requested.Failure.Message.Should().Contain("192.0.3.0").And.Contain("avoidBuggyIPs");
    }

    [Test]
    public void A_Service_on_dot_0_keeps_it_when_its_pool_starts_avoiding_buggy_IPs()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/24"));
        Single(allocator.Allocate(Request("web"))).Should().Be("192.0.2.0");

        allocator.SetPools([MakePool("a", "192.0.2.0/24", avoidBuggy: true)]);

        var again = allocator.Allocate(Request("web"));
        Single(again).Should().Be("192.0.2.0", "a pool edit that still contains the address does not move the Service");
        again.Changed.Should().BeFalse();
        Single(allocator.Allocate(Request("web", address: "192.0.2.0"))).Should().Be("192.0.2.0");
        Single(allocator.Allocate(Request("api"))).Should().Be("192.0.2.1");
        allocator.Usage("a").Single().Should().Be(new FamilyUsage(IPFamily.IPv4, 254, 2, 253));
    }

    [Test]
    public void Without_avoiding_buggy_IPs_dot_0_is_a_normal_address()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/24"));
        Single(allocator.Allocate(Request("s1"))).Should().Be("192.0.2.0");
    }

    [Test]
    public void A_pool_without_autoAssign_serves_only_Services_that_ask_for_it()
    {
        var allocator = WithPools(MakePool("reserved", "192.0.2.0/30", autoAssign: false));

        var unasked = allocator.Allocate(Request("web"));
        unasked.Failure!.Reason.Should().Be(AllocationFailureReason.NoPoolMatches);
        unasked.Failure.Message.Should().Contain("reserved: autoAssign is false");

        Single(allocator.Allocate(Request("web", pool: "reserved"))).Should().Be("192.0.2.0");
        Single(allocator.Allocate(Request("api", address: "192.0.2.3"))).Should().Be("192.0.2.3");
    }

    [Test]
    public void Pools_are_tried_by_priority_then_name()
    {
        var allocator = WithPools(
            MakePool("b-low", "198.51.100.0/30", priority: 10),
            MakePool("a-low", "203.0.113.0/30", priority: 10),
            MakePool("preferred", "192.0.2.0/31", priority: 1));

        Single(allocator.Allocate(Request("s1"))).Should().Be("192.0.2.0");
        Single(allocator.Allocate(Request("s2"))).Should().Be("192.0.2.1");
        Single(allocator.Allocate(Request("s3"))).Should().Be("203.0.113.0", "a-low sorts before b-low at equal priority");
    }

    [Test]
    public void A_pinned_pool_is_used_even_when_others_come_first()
    {
        var allocator = WithPools(MakePool("first", "192.0.2.0/30", priority: 0), MakePool("pinned", "198.51.100.0/30", priority: 5));

        Single(allocator.Allocate(Request("web", pool: "pinned"))).Should().Be("198.51.100.0");
        var missing = allocator.Allocate(Request("api", pool: "nope"));
        missing.Failure!.Reason.Should().Be(AllocationFailureReason.PoolNotFound);
        missing.Failure.Message.Should().Contain("'nope'").And.Contain("[first, pinned]");
        var mismatch = allocator.Allocate(Request("db", address: "192.0.2.1", pool: "pinned"));
        mismatch.Failure!.Message.Should().Contain("lies in IPPool first, but the Service asks for IPPool pinned");
    }

    [Test]
    public void A_full_pinned_pool_does_not_spill_into_other_pools()
    {
        var allocator = WithPools(MakePool("pinned", "192.0.2.0/32"), MakePool("other", "198.51.100.0/30"));
        allocator.Allocate(Request("s1", pool: "pinned")).Succeeded.Should().BeTrue();

        allocator.Allocate(Request("s2", pool: "pinned")).Failure!.Reason.Should().Be(AllocationFailureReason.PoolExhausted);
    }

    [Test]
    public void A_requested_address_outside_every_pool_is_refused_naming_the_pools()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));

        var result = allocator.Allocate(Request("web", address: "10.1.2.3"));

        result.Failure!.Reason.Should().Be(AllocationFailureReason.RequestedAddressOutsidePools);
        result.Failure.Message.Should().Contain("10.1.2.3").And.Contain("192.0.2.0-192.0.2.3 (a)");
    }

    [Test]
    public void Changing_the_requested_address_moves_the_Service_and_frees_the_old_one()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/29"));
        Single(allocator.Allocate(Request("web", address: "192.0.2.5"))).Should().Be("192.0.2.5");

        var moved = allocator.Allocate(Request("web", address: "192.0.2.6"));

        Single(moved).Should().Be("192.0.2.6");
        moved.Changed.Should().BeTrue();
        allocator.ClaimOf(IPAddressValue.Parse("192.0.2.5")).Should().BeNull();
        allocator.Usage("a").Single().Allocated.Should().Be(1);
    }

    [Test]
    public void A_failed_move_keeps_the_old_address()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/29"));
        allocator.Allocate(Request("web", address: "192.0.2.5"));
        allocator.Allocate(Request("api", address: "192.0.2.6"));

        allocator.Allocate(Request("web", address: "192.0.2.6")).Succeeded.Should().BeFalse();

        allocator.AddressesOf(new ServiceKey("default", "web")).Select(a => a.ToString()).Should().Equal("192.0.2.5");
    }

    [Test]
    public void A_pool_that_grows_keeps_every_allocation_and_offers_the_new_addresses()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/31"));
        allocator.Allocate(Request("s1"));
        allocator.Allocate(Request("s2"));

        allocator.SetPools([MakePool("a", "192.0.2.0/30")]).Should().BeEmpty();

        Single(allocator.Allocate(Request("s1"))).Should().Be("192.0.2.0");
        allocator.Allocate(Request("s1")).Changed.Should().BeFalse();
        Single(allocator.Allocate(Request("s3"))).Should().Be("192.0.2.2");
    }

    [Test]
    public void A_pool_that_shrinks_under_a_Service_moves_only_that_Service()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        allocator.Allocate(Request("s1"));
        allocator.Allocate(Request("s2"));
        allocator.Allocate(Request("s3"));

        allocator.SetPools([MakePool("a", "192.0.2.0/31,192.0.2.8/30")]);

        allocator.ClaimOf(IPAddressValue.Parse("192.0.2.2"))!.Pool.Should().BeNull("the claim is kept but no pool holds it now");
        allocator.Usage("a").Single().Allocated.Should().Be(2);
        Single(allocator.Allocate(Request("s1"))).Should().Be("192.0.2.0");
        var moved = allocator.Allocate(Request("s3"));
        Single(moved).Should().Be("192.0.2.8");
        moved.Changed.Should().BeTrue();
        allocator.ClaimOf(IPAddressValue.Parse("192.0.2.2")).Should().BeNull();
    }

    [Test]
    public void Overlapping_pools_are_refused_in_favour_of_the_earlier_one()
    {
        var allocator = new Allocator();

        var rejected = allocator.SetPools([MakePool("old", "192.0.2.0/24"), MakePool("new", "192.0.2.128/25"), MakePool("ok", "198.51.100.0/24")]);

        rejected.Should().ContainSingle().Which.Value.Should().Be("192.0.2.128-192.0.2.255 of IPPool new overlaps 192.0.2.0-192.0.2.255 of IPPool old");
        allocator.PoolNames.Should().BeEquivalentTo(["old", "ok"]);
    }

    [Test]
    public void A_pool_whose_entries_overlap_each_other_is_refused()
    {
        var parsed = Pool.Parse("p", ["192.0.2.0/24", "192.0.2.10-192.0.2.12"]);

        parsed.Succeeded.Should().BeFalse();
        parsed.Errors.Should().ContainSingle().Which.Should().Contain("192.0.2.0-192.0.2.255 and 192.0.2.10-192.0.2.12");
    }

    [Test]
    public void Pool_parsing_reports_every_bad_entry_at_once()
    {
        var parsed = Pool.Parse("p", ["192.0.2.0/24", "bogus", "10.0.0.9/8"]);

        parsed.Errors.Should().HaveCount(2);
        parsed.Errors[0].Should().Contain("'bogus'");
        parsed.Errors[1].Should().Contain("did you mean 10.0.0.0/8?");
        Pool.Parse("empty", []).Errors.Should().ContainSingle().Which.Should().Contain("lists no addresses");
    }

    [Test]
    public void Services_with_the_same_key_share_an_address_when_ports_differ()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        var web = Single(allocator.Allocate(Request("web", key: "front", ports: [Http])));

        var tls = allocator.Allocate(Request("tls", key: "front", ports: [Https]));

        Single(tls).Should().Be(web, "a Service with the same sharing key joins the shared address");
        allocator.Usage("a").Single().Allocated.Should().Be(1);
        allocator.ClaimOf(IPAddressValue.Parse(web))!.Holders.Keys.Select(k => k.Name).Should().BeEquivalentTo(["web", "tls"]);

        allocator.Release(new ServiceKey("default", "web"));
        allocator.ClaimOf(IPAddressValue.Parse(web))!.Holders.Should().ContainSingle("the address stays while one sharer holds it");
        allocator.Release(new ServiceKey("default", "tls"));
        allocator.ClaimOf(IPAddressValue.Parse(web)).Should().BeNull();
    }

    [Test]
    public void Same_protocol_and_port_on_a_shared_address_is_a_clash()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        allocator.Allocate(Request("web", address: "192.0.2.1", key: "k", ports: [Http]));

        var clash = allocator.Allocate(Request("web2", address: "192.0.2.1", key: "k", ports: [Http, Dns]));

        clash.Failure!.Reason.Should().Be(AllocationFailureReason.PortClash);
        clash.Failure.Message.Should().Contain("TCP/80 (used by default/web)");
        Single(allocator.Allocate(Request("dns", address: "192.0.2.1", key: "k", ports: [new ServicePort(PortProtocol.UDP, 80)])))
            .Should().Be("192.0.2.1", "UDP/80 does not clash with TCP/80");
    }

    [Test]
    public void Without_a_requested_address_a_port_clash_leads_to_a_fresh_address()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        allocator.Allocate(Request("web", key: "k", ports: [Http]));

        Single(allocator.Allocate(Request("web2", key: "k", ports: [Http]))).Should().Be("192.0.2.1");
    }

    [Test]
    public void Different_keys_or_no_key_never_share()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        allocator.Allocate(Request("web", address: "192.0.2.1", key: "k1", ports: [Http]));
        allocator.Allocate(Request("plain", address: "192.0.2.2", ports: [Http]));

        allocator.Allocate(Request("x", address: "192.0.2.1", key: "k2", ports: [Https])).Failure!.Reason
            .Should().Be(AllocationFailureReason.SharingKeyMismatch);
        allocator.Allocate(Request("y", address: "192.0.2.1", ports: [Https])).Failure
            .Should().Match<AllocationFailure>(f => f.Reason == AllocationFailureReason.RequestedAddressTaken && f.SharingKey == "k1", "a Service with key k1 may share it");
        allocator.Allocate(Request("z", address: "192.0.2.2", key: "k1", ports: [Https])).Failure!.Reason
            .Should().Be(AllocationFailureReason.RequestedAddressTaken);
    }

    [Test]
    public void A_sharing_key_reaches_across_namespaces_only_when_both_Services_allow_it()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        Single(allocator.Allocate(Request("web", ns: "team-a", key: "k", ports: [Http]))).Should().Be("192.0.2.0");

        var uninvited = allocator.Allocate(Request("intruder", ns: "team-b", address: "192.0.2.0", key: "k", ports: [Https]));
        uninvited.Failure!.Reason.Should().Be(AllocationFailureReason.CrossNamespaceSharing);
        uninvited.Failure.SharingKey.Should().Be("k");
        uninvited.Failure.Holder.Should().Be(new ServiceKey("team-a", "web"), "each Service must allow the other's namespace");
        Single(allocator.Allocate(Request("guest", ns: "team-b", key: "k", ports: [Https], shareWith: ["team-a"])))
            .Should().NotBe("192.0.2.0", "one side allowing it is not enough: the guest gets an address of its own");

        var partnerAddress = Single(allocator.Allocate(Request("partner", ns: "team-b", key: "k", ports: [Dns], shareWith: ["*"])));
        allocator.Release(new ServiceKey("team-a", "web"));
        Single(allocator.Allocate(Request("web", ns: "team-a", address: partnerAddress, key: "k", ports: [Http], shareWith: ["team-b"])))
            .Should().Be(partnerAddress, "both allow it");
        Single(allocator.Allocate(Request("same-ns", ns: "team-a", address: partnerAddress, key: "k", ports: [new ServicePort(PortProtocol.TCP, 8080)], shareWith: ["team-b"])))
            .Should().Be(partnerAddress, "within a namespace the key is enough, and team-b is allowed by this one too");
    }

    [Test]
    public void IPv6_pools_hand_out_IPv6_addresses()
    {
        var allocator = WithPools(MakePool("v6", "2001:db8::/120"));

        Single(allocator.Allocate(Request("web", families: [IPFamily.IPv6]))).Should().Be("2001:db8::");
        allocator.Allocate(Request("v4only")).Failure!.Reason.Should().Be(AllocationFailureReason.NoPoolMatches);
    }

    [Test]
    public void A_huge_IPv6_pool_is_served_and_counted_without_enumeration()
    {
        var allocator = WithPools(MakePool("v6", "2001:db8::/64"), MakePool("v4", "10.0.0.0/8", avoidBuggy: true));
        for (var i = 0; i < 1000; i++)
        {
            allocator.Allocate(Request($"s{i}", families: [IPFamily.IPv6, IPFamily.IPv4])).Succeeded.Should().BeTrue();
        }

        var v6 = allocator.Usage("v6").Single();
        v6.Capacity.Should().Be(System.Numerics.BigInteger.Pow(2, 64));
        v6.Allocated.Should().Be(1000);
        v6.Available.Should().Be(System.Numerics.BigInteger.Pow(2, 64) - 1000);
        allocator.Usage("v4").Single().Capacity.Should().Be(65536 * 254);
    }

    [Test]
    public void Dual_stack_gets_one_address_per_family_or_nothing()
    {
        var allocator = WithPools(MakePool("v4", "192.0.2.0/30"), MakePool("v6", "2001:db8::/126"));

        var both = allocator.Allocate(Request("web", families: [IPFamily.IPv6, IPFamily.IPv4]));

        both.Addresses.Select(a => a.Address.ToString()).Should().Equal("2001:db8::", "192.0.2.0");

        var v6Only = WithPools(MakePool("v6", "2001:db8::/126"));
        var required = v6Only.Allocate(Request("web", families: [IPFamily.IPv6, IPFamily.IPv4]));
        required.Succeeded.Should().BeFalse();
        v6Only.AddressesOf(new ServiceKey("default", "web")).Should().BeEmpty("RequireDualStack takes both families or none");

        var preferred = v6Only.Allocate(Request("web", families: [IPFamily.IPv6, IPFamily.IPv4], requireAll: false));
        Single(preferred).Should().Be("2001:db8::", "PreferDualStack settles for the primary family");
    }

    [Test]
    public void Requested_addresses_must_match_the_Service_families()
    {
        var allocator = WithPools(MakePool("v4", "192.0.2.0/30"), MakePool("v6", "2001:db8::/126"));

        allocator.Allocate(Request("web", address: "2001:db8::1")).Failure!.Message
            .Should().Contain("2001:db8::1 is IPv6, but the Service's ipFamilies are [IPv4]");
        allocator.Allocate(Request("web", address: "192.0.2.1,192.0.2.2")).Failure!.Message
            .Should().Contain("at most one per family");
        var dual = allocator.Allocate(Request("web", address: "192.0.2.2,2001:db8::2", families: [IPFamily.IPv4, IPFamily.IPv6]));
        dual.Addresses.Select(a => a.Address.ToString()).Should().Equal("192.0.2.2", "2001:db8::2");
    }

    [Test]
    public void Selectors_limit_who_may_draw_from_a_pool_and_say_why()
    {
        var scope = new ServiceScope(
            Namespaces: new HashSet<string> { "prod" },
            ServiceSelector: new LabelSelector(new Dictionary<string, string> { ["tier"] = "edge" }, []));
        var allocator = WithPools(MakePool("edge", "192.0.2.0/30", scope: scope));
        var edge = new Dictionary<string, string> { ["tier"] = "edge" };

        allocator.Allocate(Request("web", ns: "dev", labels: edge)).Failure!.Message
            .Should().Contain("namespace dev is not one of [prod]");
        allocator.Allocate(Request("web", ns: "prod")).Failure!.Message
            .Should().Contain("do not match serviceSelector 'tier=edge'");
        Single(allocator.Allocate(Request("web", ns: "prod", labels: edge))).Should().Be("192.0.2.0");
        allocator.Allocate(Request("api", ns: "dev", address: "192.0.2.1")).Failure!.Message
            .Should().Contain("which does not serve Service dev/api");
    }

    [Test]
    public void Namespace_selectors_use_match_expressions()
    {
        var selector = new LabelSelector(new Dictionary<string, string>(),
            [new LabelRequirement("env", SelectorOperator.In, ["prod", "staging"]), new LabelRequirement("legacy", SelectorOperator.DoesNotExist, [])]);
        var allocator = WithPools(MakePool("p", "192.0.2.0/30", scope: new ServiceScope(NamespaceSelector: selector)));

        allocator.Allocate(Request("a", namespaceLabels: new() { ["env"] = "dev" })).Succeeded.Should().BeFalse();
        allocator.Allocate(Request("b", namespaceLabels: new() { ["env"] = "prod", ["legacy"] = "" })).Succeeded.Should().BeFalse();
        allocator.Allocate(Request("c", namespaceLabels: new() { ["env"] = "staging" })).Succeeded.Should().BeTrue();
    }

    [Test]
    public void A_Service_keeps_its_address_when_autoAssign_is_turned_off()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        allocator.Allocate(Request("web"));

        allocator.SetPools([MakePool("a", "192.0.2.0/30", autoAssign: false)]);

        var again = allocator.Allocate(Request("web"));
        Single(again).Should().Be("192.0.2.0");
        again.Changed.Should().BeFalse();
    }

    [Test]
    public void Restore_rebuilds_the_state_and_refuses_contradictions()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        var web = new ServiceKey("default", "web");
        var api = new ServiceKey("default", "api");

        allocator.Restore(web, IPAddressValue.Parse("192.0.2.0"), null, [Http]).Should().BeNull();
        allocator.Restore(api, IPAddressValue.Parse("192.0.2.0"), null, [Https]).Should().Contain("held by Service default/web");
        allocator.Restore(web, IPAddressValue.Parse("192.0.2.1"), null, [Http]).Should().Contain("already holds 192.0.2.0");
        allocator.Restore(api, IPAddressValue.Parse("10.9.9.9"), null, [Http]).Should().BeNull("a claim outside every pool is still the truth");

        Single(allocator.Allocate(Request("web"))).Should().Be("192.0.2.0");
        allocator.Allocate(Request("web")).Changed.Should().BeFalse();
        Single(allocator.Allocate(Request("new"))).Should().Be("192.0.2.1");
        allocator.Usage("a").Single().Allocated.Should().Be(2);
    }

    [Test]
    public void Asserting_the_same_holding_twice_changes_nothing()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"), MakePool("b", "2001:db8::/126"));
        var web = new ServiceKey("default", "web");
        HeldAddress[] holding = [new(IPAddressValue.Parse("192.0.2.1"), "k"), new(IPAddressValue.Parse("2001:db8::2"), "k")];

        var first = allocator.Assign(web, holding, [Http]);
        var claimsAfterFirst = allocator.Claims.ToList();
        var second = allocator.Assign(web, holding, [Http]);

        first.Succeeded.Should().BeTrue();
        second.Should().BeEquivalentTo(first);
        allocator.AddressesOf(web).Select(a => a.ToString()).Should().Equal("192.0.2.1", "2001:db8::2");
        allocator.Claims.Should().BeEquivalentTo(claimsAfterFirst);
        allocator.Usage("a").Single().Allocated.Should().Be(1);
        allocator.Allocate(Request("web", key: "k", families: [IPFamily.IPv4, IPFamily.IPv6])).Changed.Should().BeFalse("the allocator already agrees with the claims");
    }

    [Test]
    public void Asserting_a_new_holding_gives_back_what_it_no_longer_names()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        var web = new ServiceKey("default", "web");
        Single(allocator.Allocate(Request("web"))).Should().Be("192.0.2.0");

        var result = allocator.Assign(web, [new(IPAddressValue.Parse("192.0.2.2"), null)], [Http]);

        result.Held.Should().Equal(IPAddressValue.Parse("192.0.2.2"));
        allocator.AddressesOf(web).Should().Equal(IPAddressValue.Parse("192.0.2.2"));
        allocator.ClaimOf(IPAddressValue.Parse("192.0.2.0")).Should().BeNull("an address no longer asserted is free again");
        Single(allocator.Allocate(Request("api"))).Should().Be("192.0.2.0");
        allocator.Assign(web, [], [Http]).Held.Should().BeEmpty();
        allocator.ClaimOf(IPAddressValue.Parse("192.0.2.2")).Should().BeNull("an empty holding holds nothing");
        allocator.Assign(new ServiceKey("default", "outside"), [new(IPAddressValue.Parse("10.9.9.9"), null)], [Http]).Succeeded
            .Should().BeTrue("a claim outside every pool is still the truth");
    }

    [Test]
    public void Asserting_an_address_held_by_a_Service_that_does_not_share_is_refused_and_changes_nothing_of_it()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"), MakePool("b", "2001:db8::/126"));
        var web = new ServiceKey("default", "web");
        var api = new ServiceKey("default", "api");
        allocator.Assign(web, [new(IPAddressValue.Parse("192.0.2.1"), null)], [Http]).Succeeded.Should().BeTrue();

        var result = allocator.Assign(api, [new(IPAddressValue.Parse("192.0.2.1"), null), new(IPAddressValue.Parse("2001:db8::1"), null)], [Https]);

        var refused = result.Refused.Should().ContainSingle().Subject;
        refused.Address.Should().Be(IPAddressValue.Parse("192.0.2.1"));
        refused.Failure.Reason.Should().Be(AllocationFailureReason.RequestedAddressTaken);
        refused.Failure.Message.Should().Contain("held by Service default/web");
        result.Held.Should().Equal([IPAddressValue.Parse("2001:db8::1")], "each address is a claim of its own");
        allocator.ClaimOf(IPAddressValue.Parse("192.0.2.1"))!.Holders.Keys.Should().Equal(web);
        allocator.AddressesOf(api).Should().Equal(IPAddressValue.Parse("2001:db8::1"));
    }

    [Test]
    public void Asserting_two_addresses_of_one_family_holds_the_first()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        var web = new ServiceKey("default", "web");

        var result = allocator.Assign(web, [new(IPAddressValue.Parse("192.0.2.1"), null), new(IPAddressValue.Parse("192.0.2.2"), null)], [Http]);

        result.Held.Should().Equal(IPAddressValue.Parse("192.0.2.1"));
        result.Refused.Should().ContainSingle().Which.Failure.Message.Should().Contain("already holds 192.0.2.1");
    }

    [Test]
    public void Asserting_a_shared_address_under_the_same_key_joins_its_holders()
    {
        var allocator = WithPools(MakePool("a", "192.0.2.0/30"));
        var web = new ServiceKey("default", "web");
        var tls = new ServiceKey("default", "tls");
        var address = IPAddressValue.Parse("192.0.2.1");
        allocator.Assign(web, [new(address, "front")], [Http]).Succeeded.Should().BeTrue();

        allocator.Assign(tls, [new(address, "front")], [Https]).Succeeded.Should().BeTrue();
        allocator.Assign(new ServiceKey("default", "other-key"), [new(address, "back")], [Dns]).Refused.Single().Failure.Reason
            .Should().Be(AllocationFailureReason.SharingKeyMismatch);
        allocator.Assign(new ServiceKey("default", "same-port"), [new(address, "front")], [Http]).Refused.Single().Failure.Reason
            .Should().Be(AllocationFailureReason.PortClash);

        allocator.ClaimOf(address)!.Holders.Keys.Should().BeEquivalentTo([web, tls]);
        allocator.Assign(web, [], [Http]);
        allocator.ClaimOf(address)!.Holders.Keys.Should().Equal([tls], "the address stays while one sharer holds it");
    }

    [Test]
    public void Counts_follow_allocations_per_family()
    {
        var allocator = WithPools(MakePool("dual", "192.0.2.0/28,2001:db8::/124"));
        allocator.Allocate(Request("a", families: [IPFamily.IPv4, IPFamily.IPv6]));
        allocator.Allocate(Request("b", families: [IPFamily.IPv6]));

        allocator.Usage("dual").Should().BeEquivalentTo(new[]
        {
            new FamilyUsage(IPFamily.IPv4, 16, 1, 15),
            new FamilyUsage(IPFamily.IPv6, 16, 2, 14),
        });
        allocator.Usage("nope").Should().BeEmpty();
    }
}
