using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.Tests.Readers;

/// <summary>The health check annotations as a Service's owner writes them, and the messages for bad ones.</summary>
public class HealthCheckReaderTests
{
    private static V1Service Service(Dictionary<string, string> annotations, string protocol = "TCP") => new()
    {
        Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "shop", Annotations = annotations },
        Spec = new V1ServiceSpec { Type = "LoadBalancer", Ports = [new V1ServicePort { Port = 80, TargetPort = 8080, Protocol = protocol }] },
    };

    private static HealthCheck? Read(params (string Name, string Value)[] annotations)
    {
        var (check, error) = HealthCheckReader.Read(Service(annotations.ToDictionary(a => "ipvsoperator.io/" + a.Name, a => a.Value)));
        error.Should().BeNull();
        return check;
    }

    private static string Refusal(params (string Name, string Value)[] annotations) => Refusal("TCP", annotations);

    private static string Refusal(string protocol, params (string Name, string Value)[] annotations)
    {
        var (check, error) = HealthCheckReader.Read(Service(annotations.ToDictionary(a => "ipvsoperator.io/" + a.Name, a => a.Value), protocol));
        check.Should().BeNull();
        return error!;
    }

    [Test]
    public void Without_the_annotation_nothing_is_checked() => Read().Should().BeNull();

    [Test]
    public void An_http_check_takes_the_documented_defaults() =>
        Read(("health-check", "http")).Should().Be(new HealthCheck(HealthCheckProtocol.Http, null, "/", 200, 399,
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), HealthyThreshold: 2, UnhealthyThreshold: 3));

    [Test]
    public void Every_setting_is_read()
    {
        var check = Read(("health-check", "HTTPS"), ("health-check-port", "9000"), ("health-check-path", "/healthz?full=1"),
            ("health-check-expected-status", "204"), ("health-check-interval", "10s"), ("health-check-timeout", "1500ms"),
            ("health-check-healthy-threshold", "1"), ("health-check-unhealthy-threshold", "5"), ("health-check-reset-connections", "true"))!;
        check.Should().Be(new HealthCheck(HealthCheckProtocol.Https, 9000, "/healthz?full=1", 204, 204, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(1500), 1, 5, ResetConnections: true));
        check.Probe.Should().Be(check with { ResetConnections = false }, "what is done with a verdict is not part of the probe");
    }

    [Test]
    public void A_tcp_check_of_a_UDP_Service_needs_a_TCP_port_of_the_same_pods()
    {
        Refusal("UDP", ("health-check", "tcp")).Should().Be(
            "port 80/UDP cannot be checked over tcp; set ipvsoperator.io/health-check-port to a TCP port the same pods serve (a health endpoint)");
        HealthCheckReader.Read(Service(new() { ["ipvsoperator.io/health-check"] = "http", ["ipvsoperator.io/health-check-port"] = "8081" }, "UDP")).Check!.Port.Should().Be(8081);
    }

    [TestCase("health-check", "icmp", "annotation ipvsoperator.io/health-check: 'icmp' is not a health check; valid: tcp, http or https")]
    [TestCase("health-check-port", "http", "annotation ipvsoperator.io/health-check-port: 'http' is not a port; expected a number from 1 to 65535")]
    [TestCase("health-check-port", "70000", "'70000' is not a port")]
    [TestCase("health-check-path", "healthz", "annotation ipvsoperator.io/health-check-path: 'healthz' is not a request path; expected one starting with /")]
    [TestCase("health-check-path", "/a b", "'/a b' is not a request path")]
    [TestCase("health-check-expected-status", "2xx", "annotation ipvsoperator.io/health-check-expected-status: '2xx' is not an HTTP status or range; expected a status from 100 to 599 (200) or a range (200-399)")]
    [TestCase("health-check-expected-status", "399-200", "'399-200' is not an HTTP status or range")]
    [TestCase("health-check-interval", "5", "annotation ipvsoperator.io/health-check-interval '5' has no unit; write 5s, 5ms or 5m")]
    [TestCase("health-check-interval", "100ms", "annotation ipvsoperator.io/health-check-interval: 100ms is out of range; expected from 1s to 1m")]
    [TestCase("health-check-timeout", "soon", "annotation ipvsoperator.io/health-check-timeout 'soon' is not a duration")]
    [TestCase("health-check-interval", "soon", "1m30s, from 1s to 1m")]
    [TestCase("health-check-timeout", "10s", "annotation ipvsoperator.io/health-check-timeout: 10s is longer than the interval, 5s; a probe must end before the next one starts")]
    [TestCase("health-check-healthy-threshold", "0", "annotation ipvsoperator.io/health-check-healthy-threshold: '0' is not a threshold; expected a number of probes in a row from 1 to 10")]
    [TestCase("health-check-unhealthy-threshold", "-1", "'-1' is not a threshold")]
    [TestCase("health-check-reset-connections", "yes", "annotation ipvsoperator.io/health-check-reset-connections: 'yes' is not a boolean; expected true (reset a down endpoint's connections) or false (let them finish, the default)")]
    public void A_bad_value_is_refused_naming_the_annotation_the_value_and_what_is_valid(string annotation, string value, string message)
    {
        var protocol = annotation == "health-check" ? value : "http";
        var settings = annotation == "health-check" ? new[] { ("health-check", value) } : [("health-check", protocol), (annotation, value)];
        Refusal(settings).Should().Contain(message);
    }

    [Test]
    public void Settings_without_the_check_itself_are_refused_rather_than_ignored() =>
        Refusal(("health-check-path", "/healthz")).Should().Be(
            "annotation ipvsoperator.io/health-check-path is set but ipvsoperator.io/health-check is not; set ipvsoperator.io/health-check to tcp, http or https to check the endpoints, or remove ipvsoperator.io/health-check-path");

    [Test]
    public void HTTP_settings_on_a_tcp_check_are_refused() =>
        Refusal(("health-check", "tcp"), ("health-check-path", "/healthz")).Should().Contain("apply to http and https checks");

    [Test]
    public void A_huge_value_is_quoted_only_in_part()
    {
        var error = Refusal(("health-check", "http"), ("health-check-path", "x" + new string('a', 5000)));
        error.Length.Should().BeLessThan(400);
    }
}
