using System.Text.Json;
using IpvsOperator.Entities;
using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Runtime;

/// <summary>
/// The source-generated JSON writes what KubernetesJson writes and reads what it reads, for every
/// kind the operator sends: the API server (and LocalCluster) must not see a difference.
/// </summary>
public class ApiJsonTests
{
    private static readonly DateTime Time = new DateTime(2026, 11, 30, 19, 4, 5, DateTimeKind.Utc).AddTicks(1_234_567);
    private static readonly V1ObjectMeta Meta = new()
    {
        Name = "web", NamespaceProperty = "shop", Uid = "0b4c", ResourceVersion = "42", CreationTimestamp = Time, Generation = 3,
        Labels = new Dictionary<string, string> { ["app"] = "web" }, Annotations = new Dictionary<string, string> { ["ipvsoperator.io/pool"] = "public" },
        Finalizers = ["ipvsoperator.io/release-address"],
        OwnerReferences = [new V1OwnerReference { ApiVersion = "v1", Kind = "Service", Name = "web", Uid = "0b4c", BlockOwnerDeletion = true }],
        ManagedFields =
        [
            new V1ManagedFieldsEntry
            {
                Manager = "ipvs-operator-controller", Operation = "Update", ApiVersion = "v1", Time = Time, FieldsType = "FieldsV1",
                FieldsV1 = JsonDocument.Parse("""{"f:status":{"f:loadBalancer":{"f:ingress":{}}}}""").RootElement,
            },
        ],
    };

    private static V1Condition Condition(string type) =>
        new() { Type = type, Status = "True", Reason = "Ready", Message = "IPVS ready on 3 nodes", LastTransitionTime = Time, ObservedGeneration = 3 };

    private static IEnumerable<TestCaseData> Objects()
    {
        yield return Case(new V1Service
        {
            ApiVersion = "v1", Kind = "Service", Metadata = Meta,
            Spec = new V1ServiceSpec
            {
                Type = "LoadBalancer", ExternalTrafficPolicy = "Local", LoadBalancerClass = "ipvsoperator.io/ipvs",
                Ports =
                [
                    new V1ServicePort { Port = 80, Name = "http", Protocol = "TCP", TargetPort = "http" },
                    new V1ServicePort { Port = 443, TargetPort = 8443, NodePort = 30443 },
                ],
                Selector = new Dictionary<string, string> { ["app"] = "web" }, SessionAffinity = "ClientIP",
                SessionAffinityConfig = new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = 600 } },
            },
            Status = new V1ServiceStatus
            {
                LoadBalancer = new V1LoadBalancerStatus { Ingress = [new V1LoadBalancerIngress { Ip = "198.51.100.7", IpMode = "VIP" }] },
                Conditions = [Condition("ServedByIPVS")],
            },
        });
        yield return Case(new V1EndpointSlice
        {
            ApiVersion = "discovery.k8s.io/v1", Kind = "EndpointSlice", Metadata = Meta, AddressType = "IPv4",
            Endpoints = [new V1Endpoint { Addresses = ["10.1.0.5"], Conditions = new V1EndpointConditions { Ready = true, Serving = true, Terminating = false }, NodeName = "node-a" }],
            Ports = [new Discoveryv1EndpointPort { Name = "http", Port = 8080, Protocol = "TCP" }],
        });
        yield return Case(new V1Lease
        {
            ApiVersion = "coordination.k8s.io/v1", Kind = "Lease", Metadata = Meta,
            Spec = new V1LeaseSpec { AcquireTime = Time, HolderIdentity = "node-a", LeaseDurationSeconds = 15, LeaseTransitions = 2, RenewTime = Time },
        });
        yield return Case(new Corev1Event
        {
            ApiVersion = "v1", Kind = "Event", Metadata = Meta,
            InvolvedObject = new V1ObjectReference { ApiVersion = "v1", Kind = "Service", Name = "web", NamespaceProperty = "shop", Uid = "0b4c" },
            Reason = "AddressAllocated", Message = "198.51.100.7 from pool public", Type = "Normal", Count = 2, FirstTimestamp = Time, LastTimestamp = Time,
            EventTime = Time, Source = new V1EventSource { Component = "ipvs-operator" }, ReportingComponent = "ipvs-operator", ReportingInstance = "node-a",
        });
        yield return Case(new V1Node
        {
            ApiVersion = "v1", Kind = "Node", Metadata = Meta,
            Status = new V1NodeStatus { Addresses = [new V1NodeAddress { Address = "10.0.0.1", Type = "InternalIP" }] },
        });
        yield return Case(new V1Secret { ApiVersion = "v1", Kind = "Secret", Metadata = Meta, Data = new Dictionary<string, byte[]> { ["password"] = "s3cret"u8.ToArray() }, Type = "Opaque" });
        yield return Case(new V1Alpha1IPPool
        {
            Metadata = Meta,
            Spec = new IPPoolSpec
            {
                Addresses = ["198.51.100.0/24", "2001:db8::/120"], AvoidBuggyIPs = true,
                Announce = new PoolAnnouncement { Modes = ["bgp"], Bgp = new PoolBgpAnnouncement { Communities = ["64500:100"], LocalPreference = 200 } },
            },
            Status = new IPPoolStatus { IPv4 = new AddressFamilyCounts { Capacity = "256", Allocated = 2, Available = "254" }, Conditions = [Condition("Ready")], ObservedGeneration = 3 },
        });
        yield return Case(new V1Alpha1IPAllocation
        {
            Metadata = Meta,
            Spec = new IPAllocationSpec { Pool = "public", Address = "198.51.100.7", ServiceRef = new ServiceReference { Namespace = "shop", Name = "web", Uid = "0b4c" } },
            Status = new IPAllocationStatus { Conditions = [Condition("Bound")] },
        });
        yield return Case(new V1Alpha1BGPPeer
        {
            Metadata = Meta,
            Spec = new BGPPeerSpec { PeerAddress = "10.0.0.254", PeerASN = 64500, LocalASN = 64512, Bfd = new BfdProfileSpec(), PasswordSecret = new SecretKeyReference { Name = "tor", Key = "password" } },
        });
        yield return Case(new V1Alpha1IPVSNode
        {
            Metadata = Meta,
            Spec = new IPVSNodeSpec(),
            Status = new IPVSNodeStatus
            {
                Ready = true, LastSuccessfulSyncTime = Time, LastSync = new IPVSNodeSync { Time = Time }, VipsBound = 1,
                Vips = [new IPVSNodeVip { Address = "198.51.100.7" }],
                Bgp = new IPVSNodeBgp { Sessions = [new IPVSNodeBgpSession { Peer = "tor", State = "Established" }] },
            },
        });
    }

    private static TestCaseData Case<T>(T value) => new TestCaseData(value).SetArgDisplayNames(typeof(T).Name);

    [TestCaseSource(nameof(Objects))]
    public void Writes_what_KubernetesJson_writes<T>(T value)
    {
        ApiJson.Serialize(value).Should().Be(KubernetesJson.Serialize(value));
    }

    [TestCaseSource(nameof(Objects))]
    public void Reads_what_KubernetesJson_writes_back_to_the_same_object<T>(T value)
    {
        var written = KubernetesJson.Serialize(value);

        KubernetesJson.Serialize(ApiJson.Deserialize<T>(written)).Should().Be(written);
        KubernetesJson.Serialize(ApiJson.Deserialize<T>(JsonDocument.Parse(written).RootElement)).Should().Be(written);
    }

    [Test]
    public void Reads_a_Status_as_KubernetesJson_reads_it()
    {
        // KubernetesJson cannot write a V1Status (its converter's Write is not implemented): it is only read.
        const string conflict = """{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Operation cannot be fulfilled on services \"web\": the object has been modified","reason":"Conflict","details":{"name":"web","kind":"services"},"code":409}""";

        ApiJson.Deserialize<V1Status>(conflict).Should().BeEquivalentTo(KubernetesJson.Deserialize<V1Status>(conflict));
        ApiJson.Deserialize<V1Status>(conflict).Details.Name.Should().Be("web");
    }

    [TestCase("2026-11-30T19:04:05Z")]
    [TestCase("2026-11-30T19:04:05.123456Z")]
    [TestCase("2026-11-30T20:04:05+01:00")]
    public void Reads_the_times_an_API_server_writes_as_UTC(string time)
    {
        var lease = ApiJson.Deserialize<V1Lease>("{\"spec\":{\"renewTime\":\"" + time + "\"}}");

        lease.Spec.RenewTime.Should().BeCloseTo(new DateTime(2026, 11, 30, 19, 4, 5, DateTimeKind.Utc), TimeSpan.FromSeconds(1));
        lease.Spec.RenewTime!.Value.Kind.Should().Be(DateTimeKind.Utc);
    }

    [Test]
    public void A_kind_missing_from_the_context_is_named_with_the_fix()
    {
        var missing = () => ApiJson.Serialize(new V1PodTemplate());

        missing.Should().Throw<NotSupportedException>().WithMessage("*V1PodTemplate*JsonSerializable*");
    }
}
