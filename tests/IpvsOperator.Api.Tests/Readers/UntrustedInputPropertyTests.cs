using IpvsOperator.AllocationReaders;
using IpvsOperator.Readers;
using System.Text.Json;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Entities;
using IpvsOperator.Node;
using IpvsOperator.Node.Bgp;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Runtime.Webhooks;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Webhooks;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Readers;

/// <summary>
/// Every Service, EndpointSlice, pool and peer is untrusted: it may have bypassed admission (the
/// Service webhook fails open). Seeded random hostile values and shapes are fed to the readers, the
/// desired-state builder, the BGP planner and the webhooks: nothing throws, a hostile Service costs
/// only itself (a well-formed Service beside it is served exactly as without it), and a webhook
/// answers with a denial naming the value rather than failing.
/// </summary>
public class UntrustedInputPropertyTests : ControllerFixture
{
    private const int Iterations = 80;

    private static readonly string[] AnnotationNames =
    [
        WellKnown.Annotations.LoadBalancerIPs, WellKnown.Annotations.AddressPool, WellKnown.Annotations.AllowSharedIP, WellKnown.Annotations.AllowSharedIPNamespaces,
        WellKnown.Annotations.Scheduler, WellKnown.Annotations.ForwardMethod, WellKnown.Annotations.HealthCheck, WellKnown.Annotations.HealthCheckPort,
        WellKnown.Annotations.HealthCheckPath, WellKnown.Annotations.HealthCheckExpectedStatus, WellKnown.Annotations.HealthCheckInterval,
        WellKnown.Annotations.HealthCheckTimeout, WellKnown.Annotations.HealthCheckHealthyThreshold, WellKnown.Annotations.HealthCheckUnhealthyThreshold,
        WellKnown.Annotations.HealthCheckResetConnections,
        // MetalLB's, read where ours are absent: as untrusted as ours.
        WellKnown.Annotations.MetalLB.LoadBalancerIPs, WellKnown.Annotations.MetalLB.AddressPool, WellKnown.Annotations.MetalLB.AllowSharedIP,
        WellKnown.Annotations.MetalLB.DeprecatedLoadBalancerIPs, WellKnown.Annotations.MetalLB.DeprecatedAddressPool, WellKnown.Annotations.MetalLB.DeprecatedAllowSharedIP,
    ];

    private static readonly string[] HostileTexts =
    [
        "300000000h", "-1s", "9999999999999999999", "9999999999999999999s", "9999999999999999999ms", "200000000h200000000h", "99999999:00:00", "-00:00:01",
        "NaN", "NaNs", "Infinity", "1e400s", "∞", "", " ", "\t", "\0", "💥", "ｈｔｔｐ", "１０s", "1.5.5s", "0s", "0", "-1", "65536", "2147483648", "-2147483649",
        "true", "TRUE", "yes", "tcp", "http", "https", "HTTP", "/", "//", "/\u0085", "/ok", "200-100", "100-599", "1-2-3", "599", "200-", "-",
        "10.0.0.1", "10.0.0.1,10.0.0.2", "2001:db8::1,192.0.2.1", "::ffff:192.0.2.1", "192.0.2.256", "0.0.0.0", ",", ",,,", "*", "a,b,*,-bad-",
        "rr", "wlc", "mh", "masq", "droute", "tunnel", "null", "{}", "[]", "\"quoted\"", "ä/ö", "\u202Etxt",
        new string('1', 300_000) + "s", new string('a', 300_000), "/" + new string('x', 5_000), string.Join(",", Enumerable.Repeat("192.0.2.1", 2_000)),
    ];

    private static readonly string[] Protocols = ["TCP", "UDP", "SCTP", "tcp", "", "ICMP", "💥"];

    private static readonly IPAddressValue GoodVip = IPAddressValue.Parse("192.0.2.10");

    [OneTimeSetUp]
    public async Task CreateGoodPoolAsync() => await Pools.CreateAsync(GoodPool());

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static string HostileText(Random random) => random.Next(4) == 0 ? RandomString(random) : Pick(random, HostileTexts);

    /// <summary>Any characters at all, of any length up to a few thousand.</summary>
    private static string RandomString(Random random)
    {
        var length = random.Next(6) == 0 ? random.Next(1_000, 5_000) : random.Next(0, 12);
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = (char)r.Next(0, 0x3000);
            }
        });
    }

    private static int HostileNumber(Random random) => Pick(random, new[] { 0, -1, 1, 80, 65535, 65536, 70_000, int.MaxValue, int.MinValue, random.Next() });

    private static V1Service GoodService() => new()
    {
        ApiVersion = "v1", Kind = "Service",
        Metadata = new V1ObjectMeta
        {
            Name = "web", NamespaceProperty = "good", Uid = "good-uid",
            Annotations = new Dictionary<string, string>
            {
                [WellKnown.Annotations.AddressPool] = "good-pool",
                [WellKnown.Annotations.HealthCheck] = "http",
                [WellKnown.Annotations.HealthCheckInterval] = "5s",
                [WellKnown.Annotations.Scheduler] = "wlc",
            },
        },
        Spec = new V1ServiceSpec
        {
            Type = "LoadBalancer", ExternalTrafficPolicy = "Cluster", SessionAffinity = "ClientIP",
            SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = 600 } },
            Ports = [new V1ServicePort { Name = "http", Port = 80, Protocol = "TCP", TargetPort = 8080, NodePort = 30080 }],
        },
    };

    private static V1EndpointSlice GoodSlice() => new()
    {
        Metadata = new V1ObjectMeta { Name = "web-x", NamespaceProperty = "good", Labels = new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = "web" } },
        AddressType = "IPv4",
        Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
        Endpoints = [new V1Endpoint { Addresses = ["10.244.1.2"], NodeName = "node-b", Conditions = new V1EndpointConditions { Ready = true } },
            new V1Endpoint { Addresses = ["10.244.1.3"], NodeName = "node-a", Conditions = new V1EndpointConditions { Ready = true } }],
    };

    private static V1Alpha1IPAllocation Claim(string? address, string pool, string ns, string name, string? uid) => new()
    {
        Metadata = new V1ObjectMeta { Name = address is not null && IPAddressValue.TryParse(address, out var a) ? AllocationNames.For(a) : "garbled" },
        Spec = new IPAllocationSpec { Address = address!, Pool = pool, ServiceRef = new ServiceReference { Namespace = ns, Name = name, Uid = uid! } },
    };

    private static V1Alpha1IPPool GoodPool() => new()
    {
        Metadata = new V1ObjectMeta { Name = "good-pool" },
        Spec = new IPPoolSpec { Addresses = ["192.0.2.0/28"], Announce = new PoolAnnouncement { Bgp = new PoolBgpAnnouncement { Communities = ["64500:1"], AggregationLength = 28 } } },
    };

    /// <summary>A Service of ours in a namespace of its own, with hostile annotations and a hostile shape.</summary>
    private static V1Service HostileService(Random random, int index)
    {
        var service = GoodService();
        service.Metadata.Name = $"hostile-{index}";
        service.Metadata.NamespaceProperty = "evil";
        service.Metadata.Uid = $"evil-{index}";
        service.Metadata.Annotations = random.Next(10) == 0 ? null : AnnotationNames.Where(_ => random.Next(3) == 0).ToDictionary(n => n, _ => HostileText(random));
        var spec = service.Spec;
        switch (random.Next(12))
        {
            case 0:
                spec.Ports = null;
                break;
            case 1:
                spec.Ports = [];
                break;
            case 2:
                spec.Ports = [.. Enumerable.Range(0, random.Next(100, 400)).Select(i => new V1ServicePort { Name = $"p{i}", Port = HostileNumber(random), Protocol = Pick(random, Protocols), NodePort = HostileNumber(random) })];
                break;
            case 3:
                spec.SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = HostileNumber(random) } };
                break;
            case 4:
                spec.SessionAffinityConfig = null;
                spec.ExternalTrafficPolicy = Pick(random, new[] { "Local", "", "💥", null! });
                break;
            case 5:
                spec.IpFamilies = random.Next(2) == 0 ? [] : ["IPv9", HostileText(random)];
                spec.IpFamilyPolicy = Pick(random, new[] { "SingleStack", "RequireDualStack", "PreferDualStack", HostileText(random) });
                break;
            case 6:
                spec.LoadBalancerIP = HostileText(random);
                break;
            default:
                spec.Ports = [new V1ServicePort { Name = Pick(random, new[] { "http", "", null!, HostileText(random) }), Port = HostileNumber(random), Protocol = Pick(random, Protocols) }];
                break;
        }
        return service;
    }

    private static V1EndpointSlice HostileSlice(Random random, string service)
    {
        var count = random.Next(8) == 0 ? random.Next(1_000, 3_000) : random.Next(0, 6);
        return new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = $"{service}-{random.Next()}", NamespaceProperty = "evil",
                Labels = random.Next(10) == 0 ? null : new Dictionary<string, string> { [DesiredStateBuilder.ServiceNameLabel] = service },
            },
            AddressType = Pick(random, new[] { "IPv4", "IPv6", "FQDN", "", null! }),
            Ports = random.Next(6) == 0 ? null : [.. Enumerable.Range(0, random.Next(0, 4)).Select(_ => new Discoveryv1EndpointPort
            {
                Name = Pick(random, new[] { "http", "", null!, HostileText(random) }), Port = random.Next(3) == 0 ? null : HostileNumber(random), Protocol = Pick(random, Protocols),
            })],
            Endpoints = random.Next(10) == 0 ? null! : [.. Enumerable.Range(0, count).Select(i => new V1Endpoint
            {
                Addresses = random.Next(10) == 0 ? null! : [random.Next(3) == 0 ? HostileText(random) : $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(256)}"],
                NodeName = Pick(random, new[] { "node-a", "node-b", null!, HostileText(random) }),
                Conditions = random.Next(5) == 0 ? null : new V1EndpointConditions { Ready = Pick(random, new bool?[] { true, false, null }), Serving = Pick(random, new bool?[] { true, null }), Terminating = Pick(random, new bool?[] { true, null }) },
            })],
        };
    }

    private static V1Alpha1IPPool HostilePool(Random random, int index) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"evil-pool-{index}" },
        Spec = random.Next(12) == 0 ? null! : new IPPoolSpec
        {
            Addresses = random.Next(8) == 0 ? null! : [.. Enumerable.Range(0, random.Next(0, 4)).Select(_ => random.Next(2) == 0
                ? $"198.51.{random.Next(256)}.{random.Next(256)}/{random.Next(-2, 40)}"
                : HostileText(random))],
            Announce = random.Next(4) == 0 ? null : new PoolAnnouncement
            {
                Modes = random.Next(5) == 0 ? null! : [.. Enumerable.Range(0, random.Next(0, 3)).Select(_ => Pick(random, new[] { "bgp", "layer2", "", HostileText(random) }))],
                Bgp = random.Next(4) == 0 ? null : new PoolBgpAnnouncement
                {
                    Communities = random.Next(3) == 0 ? null : [HostileText(random), "64500:1"],
                    LargeCommunities = random.Next(3) == 0 ? null : [HostileText(random)],
                    LocalPreference = random.Next(2) == 0 ? null : Pick(random, new long[] { -1, 0, 100, long.MaxValue, long.MinValue, uint.MaxValue + 1L }),
                    AggregationLength = random.Next(2) == 0 ? null : HostileNumber(random) % 200,
                    AggregationLengthV6 = random.Next(2) == 0 ? null : HostileNumber(random) % 300,
                    NodeSelector = random.Next(3) != 0 ? null : new V1LabelSelector
                    {
                        MatchExpressions = [new V1LabelSelectorRequirement { Key = HostileText(random), OperatorProperty = Pick(random, new[] { "In", "Exists", "Gt", HostileText(random) }), Values = random.Next(2) == 0 ? null : [HostileText(random)] }],
                    },
                },
            },
        },
    };

    private static V1Alpha1BGPPeer HostilePeer(Random random, int index) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"evil-peer-{index}" },
        Spec = random.Next(10) == 0 ? null! : new BGPPeerSpec
        {
            PeerAddress = random.Next(2) == 0 ? $"10.0.{random.Next(256)}.{random.Next(256)}" : HostileText(random),
            PeerASN = Pick(random, new[] { 0L, 64500, -1, long.MaxValue, BGPPeerSpec.MaxAsn + 1 }),
            LocalASN = Pick(random, new[] { 64512L, 0, long.MinValue }),
            SourceAddress = random.Next(2) == 0 ? null : HostileText(random),
            Port = HostileNumber(random),
            HoldTime = random.Next(2) == 0 ? "90s" : HostileText(random),
            KeepaliveTime = random.Next(2) == 0 ? "30s" : HostileText(random),
            EbgpMultihop = random.Next(2) == 0 ? null : HostileNumber(random),
            PasswordSecret = random.Next(2) == 0 ? null : new SecretKeyReference { Name = HostileText(random), Key = HostileText(random) },
            Bfd = random.Next(2) == 0 ? null : new BfdProfileSpec { TransmitIntervalMilliseconds = HostileNumber(random), ReceiveIntervalMilliseconds = HostileNumber(random), DetectMultiplier = HostileNumber(random) },
            NodeSelector = random.Next(3) != 0 ? null : new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [HostileText(random)] = HostileText(random) } },
        },
    };

    private static ClusterView View(IEnumerable<V1Alpha1IPAllocation> claims, IEnumerable<V1Service> services, IEnumerable<V1EndpointSlice> slices, IEnumerable<V1Alpha1IPPool> pools) =>
        new([.. claims], [.. services], [.. slices], [new V1Node { Metadata = new V1ObjectMeta { Name = "node-a" }, Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Type = "InternalIP", Address = "10.0.0.1" }] } }])
        {
            Pools = [.. pools],
        };

    /// <summary>What the desired state holds for the well-formed Service: its virtual services with their destinations, its probes and its announcement.</summary>
    private static string GoodPart((DesiredState Kernel, ServedServices Served) built) =>
        string.Join("\n", built.Kernel.Services.Where(s => s.Key.Address == GoodVip).OrderBy(s => s.Key.Port)
            .Select(s => $"{s.Key} {s.Value.Service} [{string.Join(", ", s.Value.Destinations)}] nat={built.Kernel.SourceNat.Contains(s.Key)}"))
        + $"\nbound={built.Kernel.Addresses.Contains(GoodVip)}"
        + $"\nprobed=[{string.Join(", ", built.Served.Probed.Where(p => p.Value.Contains(("good", "web"))).Select(p => p.Key.ToString()).Order(StringComparer.Ordinal))}]"
        + $"\nannounced={(built.Served.Announced.TryGetValue(GoodVip, out var a) ? $"{a.Eligible?.Count} {a.NeedsSourceNat} {a.Announce.Bgp} {a.Announce.AggregationLength} {string.Join(",", a.Announce.Communities)}" : "no")}"
        + $"\nwarnings=[{string.Join(", ", built.Served.Warnings.Where(w => w.Namespace == "good"))}]";

    [Test]
    public void The_readers_the_desired_state_builder_and_the_BGP_planner_never_throw_and_a_hostile_Service_costs_only_itself([Range(1, 6)] int seed)
    {
        var random = new Random(seed);
        var good = (Claim: Claim(GoodVip.ToString(), "good-pool", "good", "web", "good-uid"), Service: GoodService(), Slice: GoodSlice(), Pool: GoodPool());
        var alone = DesiredStateBuilder.Build(View([good.Claim], [good.Service], [good.Slice], [good.Pool]), "node-a");
        var expected = GoodPart(alone);
        alone.Kernel.Services.Keys.Should().Contain(new VirtualServiceKey(GoodVip, IpvsProtocol.TCP, 80), "the well-formed Service is served on its own");

        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var services = Enumerable.Range(0, random.Next(1, 4)).Select(i => HostileService(random, i)).ToList();
            var slices = services.SelectMany(s => Enumerable.Range(0, random.Next(0, 3)).Select(_ => HostileSlice(random, s.Metadata.Name))).ToList();
            var pools = Enumerable.Range(0, random.Next(0, 3)).Select(i => HostilePool(random, i)).ToList();
            var claims = services.Select((s, i) => Claim(random.Next(6) == 0 ? HostileText(random) : $"198.51.100.{i + 1}", pools.Count > 0 ? Pick(random, pools).Metadata.Name : "none",
                "evil", s.Metadata.Name, random.Next(8) == 0 ? null : s.Metadata.Uid)).ToList();
            var peers = Enumerable.Range(0, random.Next(0, 3)).Select(i => HostilePeer(random, i)).ToList();
            var context = $"seed {seed}, iteration {iteration}: {Describe(services, pools)}";

            foreach (var service in services)
            {
                FluentActions.Invoking(() => HealthCheckReader.Read(service)).Should().NotThrow(context);
                FluentActions.Invoking(() => ServiceRequestReader.Read(service, new Dictionary<string, string>())).Should().NotThrow(context);
            }
            foreach (var pool in pools)
            {
                FluentActions.Invoking(() => PoolReader.Read(pool)).Should().NotThrow(context);
                FluentActions.Invoking(() => PoolAnnouncementReader.Read(pool)).Should().NotThrow(context);
            }
            foreach (var peer in peers)
            {
                FluentActions.Invoking(() => BgpPeerReader.Read(peer)).Should().NotThrow(context);
            }

            // The hostile objects before and after the well-formed ones: order must not matter either.
            var view = View([.. claims, good.Claim], [good.Service, .. services], [.. slices, good.Slice], [.. pools, good.Pool]);
            (DesiredState Kernel, ServedServices Served) built = (null!, null!);
            FluentActions.Invoking(() => built = DesiredStateBuilder.Build(view, "node-a")).Should().NotThrow(context);
            GoodPart(built).Should().Be(expected, $"the hostile Services cost only themselves; {context}");
            FluentActions.Invoking(() => BgpPlanner.Plan("node-a", view.Nodes[0], peers, [], built.Served.Announced, canSourceNat: true, withdrawn: null)).Should().NotThrow(context);
        }
    }

    private static string Describe(IEnumerable<V1Service> services, IEnumerable<V1Alpha1IPPool> pools) =>
        string.Join("; ", services.Select(s => $"{s.Metadata.Name} {Shorten(JsonSerializer.Serialize(s.Metadata.Annotations))} ports {s.Spec.Ports?.Count}"))
        + " pools " + string.Join("; ", pools.Select(p => Shorten(JsonSerializer.Serialize(p.Spec?.Announce?.Bgp?.AggregationLength))));

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    [Test]
    public async Task The_Service_webhook_denies_a_hostile_annotation_naming_it_and_never_fails([Range(1, 3)] int seed)
    {
        var random = new Random(seed);
        var validator = new ServiceValidator(Pools, defaultClass: true);
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var service = GoodService();
            var annotation = Pick(random, AnnotationNames);
            var value = HostileText(random);
            service.Metadata.Annotations![annotation] = value;
            if (random.Next(3) == 0)
            {
                service = HostileService(random, iteration);
            }
            var context = $"seed {seed}, iteration {iteration}: {annotation}='{Shorten(value)}'";
            AdmissionVerdict verdict = null!;
            await FluentActions.Awaiting(async () => verdict = await validator.ValidateAsync(Request("CREATE", service), CancellationToken.None)).Should().NotThrowAsync(context);
            if (!verdict.Allowed)
            {
                verdict.Message.Should().NotBeNullOrWhiteSpace(context);
                verdict.Message!.Length.Should().BeLessThan(2_000, $"a denial quotes a value, not all of it; {context}");
                if (service.Metadata.Name == "web")
                {
                    verdict.Message.Should().Match(m => m.Contains(annotation, StringComparison.Ordinal)
                        || value.Split(',').Any(v => v.Trim().Length > 0 && m.Contains(v.Trim(), StringComparison.Ordinal)), $"the denial names the annotation or the value that is wrong; {context}");
                }
            }
        }
    }

    [Test]
    public async Task The_pool_webhook_denies_a_hostile_pool_naming_it_and_never_fails([Range(1, 3)] int seed)
    {
        var random = new Random(seed);
        var validator = new PoolValidator(Pools, Allocations, Services, new EntityClient<V1Namespace>(Client));
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var pool = HostilePool(random, iteration);
            var context = $"seed {seed}, iteration {iteration}: {(pool.Spec is null ? "no spec" : Shorten(KubernetesJson.Serialize(pool.Spec)))}";
            AdmissionVerdict verdict = null!;
            await FluentActions.Awaiting(async () => verdict = await validator.ValidateAsync(Request("CREATE", pool), CancellationToken.None)).Should().NotThrowAsync(context);
            if (!verdict.Allowed)
            {
                verdict.Message.Should().StartWith($"IPPool {pool.Metadata.Name}", context);
            }
        }
    }

    [Test]
    public async Task A_Service_being_deleted_is_let_go_whatever_its_annotations_say()
    {
        // Created while the webhook was unavailable; the controller now removes its finalizer.
        var service = GoodService();
        service.Metadata.Annotations![WellKnown.Annotations.HealthCheckInterval] = "300000000h";
        service.Metadata.DeletionTimestamp = DateTime.UtcNow;
        service.Metadata.Finalizers = [];
        var validator = new ServiceValidator(Pools, defaultClass: true);

        var verdict = await validator.ValidateAsync(Request("UPDATE", service), CancellationToken.None);

        verdict.Allowed.Should().BeTrue(verdict.Message);
        service.Metadata.DeletionTimestamp = null;
        var created = await validator.ValidateAsync(Request("CREATE", service), CancellationToken.None);
        created.Allowed.Should().BeFalse();
        created.Message.Should().Be("annotation ipvsoperator.io/health-check-interval: 300000000h is out of range; expected from 1s to 1m");
    }

    private static AdmissionRequest Request<T>(string operation, T item)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var json = JsonDocument.Parse(KubernetesJson.Serialize(item)).RootElement.Clone();
        return new AdmissionRequest(operation, item.Metadata.Name, item.Metadata.NamespaceProperty ?? string.Empty, json, operation == "UPDATE" ? json : null);
    }
}
