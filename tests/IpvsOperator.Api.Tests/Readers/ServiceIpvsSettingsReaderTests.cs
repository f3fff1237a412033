using System.Reflection;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Tests.Readers;

/// <summary>A Service's IPVS settings as its owner writes them, and the messages the webhook and the agents give for bad ones.</summary>
public class ServiceIpvsSettingsReaderTests
{
    private static V1Service Service(Dictionary<string, string>? annotations = null, string affinity = "None", int? timeout = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "shop", Annotations = annotations },
        Spec = new V1ServiceSpec
        {
            Type = "LoadBalancer", SessionAffinity = affinity, Ports = [new V1ServicePort { Port = 80, TargetPort = 8080, Protocol = "TCP" }],
            SessionAffinityConfig = timeout is { } seconds ? new V1SessionAffinityConfig { ClientIP = new V1ClientIPConfig { TimeoutSeconds = seconds } } : null,
        },
    };

    [Test]
    public void A_Service_without_annotations_gets_round_robin_masquerading_no_persistence_and_no_health_check()
    {
        var (settings, errors, warnings) = ServiceIpvsSettingsReader.Read(Service());

        settings.Should().Be(new ServiceIpvsSettings("rr", "masq", false, 0, null));
        errors.Should().BeEmpty();
        warnings.Should().BeEmpty();
    }

    [Test]
    public void The_annotations_and_ClientIP_affinity_are_read()
    {
        var (settings, errors, _) = ServiceIpvsSettingsReader.Read(Service(new()
        {
            [WellKnown.Annotations.Scheduler] = " wlc ",
            [WellKnown.Annotations.ForwardMethod] = "droute",
            [WellKnown.Annotations.HealthCheck] = "tcp",
        }, affinity: "ClientIP"));

        errors.Should().BeEmpty();
        settings.Scheduler.Should().Be("wlc");
        settings.ForwardMethod.Should().Be("droute");
        (settings.Persistent, settings.PersistenceTimeout).Should().Be((true, ServiceIpvsSettingsReader.DefaultPersistenceTimeout));
        settings.HealthCheck!.Protocol.Should().Be(HealthCheckProtocol.Tcp);
        ServiceIpvsSettingsReader.Read(Service(affinity: "ClientIP", timeout: 300)).Settings.PersistenceTimeout.Should().Be(300);
    }

    [Test]
    public void The_hashing_schedulers_flags_are_read_by_their_ipvsadm_names()
    {
        var (settings, errors, warnings) = ServiceIpvsSettingsReader.Read(Service(new()
        {
            [WellKnown.Annotations.Scheduler] = "mh",
            [WellKnown.Annotations.SchedulerFlags] = " mh-port , mh-fallback",
        }));

        errors.Should().BeEmpty();
        warnings.Should().BeEmpty();
        settings.Should().Be(new ServiceIpvsSettings("mh", "masq", false, 0, null) { SchedulerAnnotated = true, HashFallback = true, HashPort = true });
        ServiceIpvsSettingsReader.Read(Service(new() { [WellKnown.Annotations.Scheduler] = "sh", [WellKnown.Annotations.SchedulerFlags] = "sh-port" }))
            .Settings.Should().Match<ServiceIpvsSettings>(s => s.HashPort && !s.HashFallback);
    }

    [TestCase("mh", "sh-port", "annotation ipvsoperator.io/scheduler-flags: 'sh-port' is not a flag of the mh scheduler; valid: mh-fallback, mh-port")]
    [TestCase("rr", "mh-port", "annotation ipvsoperator.io/scheduler-flags: 'mh-port' is not a flag of the rr scheduler; valid: sh-fallback, sh-port with ipvsoperator.io/scheduler: sh; mh-fallback, mh-port with mh")]
    [TestCase(null, "mh-port", "annotation ipvsoperator.io/scheduler-flags: 'mh-port' is not a flag of the scheduler (the Service names none in ipvsoperator.io/scheduler); valid: sh-fallback, sh-port with ipvsoperator.io/scheduler: sh; mh-fallback, mh-port with mh")]
    public void A_flag_that_is_not_the_schedulers_own_is_an_error_naming_it_and_is_ignored(string? scheduler, string flags, string message)
    {
        var annotations = new Dictionary<string, string> { [WellKnown.Annotations.SchedulerFlags] = $"{flags},mh-fallback" };
        if (scheduler is not null)
        {
            annotations[WellKnown.Annotations.Scheduler] = scheduler;
        }

        var (settings, errors, _) = ServiceIpvsSettingsReader.Read(Service(annotations));

        errors.Select(e => e.Message).Should().Contain(message);
        errors.Should().OnlyContain(e => e.Reason == ServiceAnnotationError.UnknownSchedulerFlag);
        settings.HashPort.Should().BeFalse();
        settings.HashFallback.Should().Be(scheduler == "mh", "the valid flag is kept");
    }

    [TestCase(-1)]
    [TestCase(0)]
    [TestCase(86401)]
    [TestCase(int.MinValue)]
    [TestCase(int.MaxValue)]
    public void A_ClientIP_timeout_Kubernetes_would_refuse_never_reaches_the_kernel_and_is_an_error(int seconds)
    {
        var (settings, errors, _) = ServiceIpvsSettingsReader.Read(Service(affinity: "ClientIP", timeout: seconds));

        settings.PersistenceTimeout.Should().Be(ServiceIpvsSettingsReader.DefaultPersistenceTimeout, "a negative timeout would wrap to 136 years in the kernel's u32");
        errors.Should().ContainSingle().Which.Message.Should().Contain($"timeoutSeconds {seconds}").And.Contain("valid: 1 to 86400");
    }

    [Test]
    public void Each_bad_value_is_an_error_naming_the_annotation_the_value_and_what_is_valid_and_a_fallback_takes_its_place()
    {
        var (settings, errors, _) = ServiceIpvsSettingsReader.Read(Service(new()
        {
            [WellKnown.Annotations.Scheduler] = "fastest",
            [WellKnown.Annotations.ForwardMethod] = "teleport",
            [WellKnown.Annotations.HealthCheck] = "ping",
        }));

        settings.Should().Be(new ServiceIpvsSettings("rr", "masq", false, 0, null) { SchedulerAnnotated = true }, "a scheduler asked for, even wrongly, is never replaced by a pool's consistent hashing");
        errors.Select(e => e.Reason).Should().Equal("UnknownScheduler", "UnknownForwardMethod", "InvalidHealthCheck");
        errors.Select(e => e.Message).Should().Equal(
            "annotation ipvsoperator.io/scheduler: 'fastest' is not an IPVS scheduler; valid: dh, fo, lblc, lblcr, lc, mh, nq, ovf, rr, sed, sh, twos, wlc, wrr",
            "annotation ipvsoperator.io/forward-method: 'teleport' is not a forward method; valid: masq, droute, tunnel",
            "annotation ipvsoperator.io/health-check: 'ping' is not a health check; valid: tcp, http or https");
        errors.Select(e => e.FallbackMessage).Should().Equal(
            "annotation ipvsoperator.io/scheduler: 'fastest' is not an IPVS scheduler; using rr; valid: dh, fo, lblc, lblcr, lc, mh, nq, ovf, rr, sed, sh, twos, wlc, wrr",
            "annotation ipvsoperator.io/forward-method: 'teleport' is not a forward method; using masq; valid: masq, droute, tunnel",
            "annotation ipvsoperator.io/health-check: 'ping' is not a health check; valid: tcp, http or https; its endpoints are not checked");
    }

    [TestCase("ipvsoperator.io/sheduler", "annotation ipvsoperator.io/sheduler is unknown to the operator and ignored; did you mean ipvsoperator.io/scheduler?")]
    [TestCase("ipvsoperator.io/Forward-Method", "annotation ipvsoperator.io/Forward-Method is unknown to the operator and ignored; did you mean ipvsoperator.io/forward-method?")]
    [TestCase("ipvsoperator.io/healthcheck-port", "annotation ipvsoperator.io/healthcheck-port is unknown to the operator and ignored; did you mean ipvsoperator.io/health-check-port?")]
    [TestCase("ipvsoperator.io/colour", "annotation ipvsoperator.io/colour is unknown to the operator and ignored")]
    public void An_unknown_key_of_ours_is_a_warning_naming_it_and_the_nearest_known_key(string key, string warning)
    {
        var (settings, errors, warnings) = ServiceIpvsSettingsReader.Read(Service(new() { [key] = "wlc", ["example.com/scheduler"] = "x" }));

        warnings.Should().Equal(warning);
        errors.Should().BeEmpty();
        settings.Scheduler.Should().Be("rr", "an unknown key is ignored");
    }

    [Test]
    public void Every_annotation_the_operator_names_is_known() =>
        WellKnown.Annotations.All.Should().BeEquivalentTo(typeof(WellKnown.Annotations).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string) && f.Name != nameof(WellKnown.Annotations.Prefix)).Select(f => (string)f.GetRawConstantValue()!),
            "a new annotation left out of the list would be warned about as unknown");
}
