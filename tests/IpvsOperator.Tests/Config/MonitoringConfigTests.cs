using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IpvsOperator.Tests.Support;
using YamlDotNet.Serialization;

namespace IpvsOperator.Tests.Config;

/// <summary>
/// The monitoring that ships in config/: the PrometheusRule is valid and every alert fires as its
/// promtool unit tests say (Prometheus' own promtool, Debian's <c>prometheus</c> package), every
/// alert has a runbook, the components compose with config/default, and every metric a rule or a
/// dashboard panel reads is one the code exports (no dead panels, no alert that can never fire).
/// </summary>
public partial class MonitoringConfigTests
{
    private static readonly string Prometheus = Path.Combine(RepositoryRoot.Path, "config", "prometheus");
    private static readonly string Dashboard = Path.Combine(RepositoryRoot.Path, "config", "grafana", "ipvs-operator.json");

    [GeneratedRegex(@"\bipvsoperator_[a-z0-9_]+")]
    private static partial Regex OurMetric();

    private static JsonObject Rule() => Yaml(File.ReadAllText(Path.Combine(Prometheus, "prometheusrule.yaml")));

    private static JsonObject Yaml(string text)
    {
        var graph = new DeserializerBuilder().Build().Deserialize<object>(text);
        return JsonNode.Parse(new SerializerBuilder().JsonCompatible().Build().Serialize(graph))!.AsObject();
    }

    private static List<JsonObject> Alerts() =>
        [.. Rule()["spec"]!["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()).OfType<JsonObject>().Where(r => r["alert"] is not null)];

    private static string? Promtool() =>
        Environment.GetEnvironmentVariable("PATH")!.Split(':').Select(d => Path.Combine(d, "promtool")).FirstOrDefault(File.Exists);

    [Test]
    public async Task Promtool_finds_the_rules_valid_and_every_alert_behaves_as_its_unit_tests_say()
    {
        if (Promtool() is not { } promtool)
        {
            Assert.Ignore("promtool is not installed (apt-get install prometheus); CI installs it and fails on a skipped test");
            return;
        }
        var work = Directory.CreateTempSubdirectory("promtool-").FullName;
        try
        {
            // promtool reads plain rule groups: the PrometheusRule's spec, as JSON (which is YAML).
            await File.WriteAllTextAsync(Path.Combine(work, "rules.yaml"), new JsonObject { ["groups"] = Rule()["spec"]!["groups"]!.DeepClone() }.ToJsonString());
            File.Copy(Path.Combine(Prometheus, "tests", "alerts-test.yaml"), Path.Combine(work, "alerts-test.yaml"));

            var check = await Processes.RunAsync(promtool, ["check", "rules", Path.Combine(work, "rules.yaml")]);
            var test = await Processes.RunAsync(promtool, ["test", "rules", Path.Combine(work, "alerts-test.yaml")]);

            check.ExitCode.Should().Be(0, check.Output + check.Error);
            check.Output.Should().Contain($"SUCCESS: {Rule()["spec"]!["groups"]!.AsArray().Sum(g => g!["rules"]!.AsArray().Count)} rules found");
            test.ExitCode.Should().Be(0, test.Output + test.Error);
            test.Output.Should().Contain("SUCCESS");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Test]
    public void Every_alert_has_unit_tests_that_see_it_fire_and_a_runbook()
    {
        var tests = Yaml(File.ReadAllText(Path.Combine(Prometheus, "tests", "alerts-test.yaml")));
        var firing = tests["tests"]!.AsArray().SelectMany(t => t!["alert_rule_test"]!.AsArray())
            .Where(t => t!["exp_alerts"] is JsonArray { Count: > 0 }).Select(t => t!["alertname"]!.GetValue<string>()).ToHashSet();
        var runbooks = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "docs", "runbooks.md"));

        foreach (var alert in Alerts())
        {
            var name = alert["alert"]!.GetValue<string>();
            firing.Should().Contain(name, $"a promtool test sees {name} fire");
            runbooks.Should().Contain($"\n## {name}\n", $"docs/runbooks.md has a section for {name}");
            alert["annotations"]!["runbook_url"]!.GetValue<string>().Should().EndWith($"docs/runbooks.md#{name.ToLowerInvariant()}");
            alert["labels"]!["severity"]!.GetValue<string>().Should().BeOneOf("critical", "warning", "info");
        }
    }

    [Test]
    public void Every_metric_a_rule_or_a_dashboard_panel_reads_is_one_the_code_exports()
    {
        var exported = ExportedMetrics();
        var dashboard = JsonNode.Parse(File.ReadAllText(Dashboard))!;
        var panelQueries = Descendants(dashboard).OfType<JsonObject>().Select(o => o["expr"]).OfType<JsonValue>().Select(e => e.GetValue<string>()).ToList();
        var ruleQueries = Alerts().Select(a => a["expr"]!.GetValue<string>()).ToList();

        panelQueries.Should().HaveCountGreaterThan(20, "the dashboard covers pools, the controller and the nodes");
        foreach (var query in panelQueries.Concat(ruleQueries))
        {
            foreach (var metric in OurMetric().Matches(query).Select(m => m.Value))
            {
                var series = Regex.Replace(metric, "_(bucket|sum|count)$", string.Empty);
                exported.Should().Contain(series, $"the query \"{query}\" reads {metric}");
            }
        }
        // And the other way: nothing the code exports is left off the dashboard.
        var read = panelQueries.SelectMany(q => OurMetric().Matches(q).Select(m => Regex.Replace(m.Value, "_(bucket|sum|count)$", string.Empty))).ToHashSet();
        exported.Should().BeSubsetOf(read, "every metric has a panel");
    }

    [Test]
    public async Task The_prometheus_and_grafana_components_compose_with_the_default_deployment()
    {
        var work = Directory.CreateTempSubdirectory("kustomize-").FullName;
        try
        {
            CopyDirectory(Path.Combine(RepositoryRoot.Path, "config"), Path.Combine(work, "config"));
            Directory.CreateDirectory(Path.Combine(work, "overlay"));
            await File.WriteAllTextAsync(Path.Combine(work, "overlay", "kustomization.yaml"), """
                apiVersion: kustomize.config.k8s.io/v1beta1
                kind: Kustomization
                resources: [../config/default]
                components: [../config/prometheus, ../config/grafana]
                """);

            var built = await Processes.RunAsync("kubectl", ["kustomize", Path.Combine(work, "overlay")]);

            built.ExitCode.Should().Be(0, built.Error);
            var objects = built.Output.Split("\n---\n").Select(Yaml).ToList();
            objects.Should().Contain(o => o["kind"]!.GetValue<string>() == "PrometheusRule");
            objects.Should().Contain(o => o["kind"]!.GetValue<string>() == "ConfigMap" && o["metadata"]!["labels"]!["grafana_dashboard"]!.GetValue<string>() == "1");
            var monitors = objects.Where(o => o["kind"]!.GetValue<string>() == "PodMonitor").ToList();
            monitors.Should().HaveCount(2);
            foreach (var monitor in monitors)
            {
                // Each selects the pods of one workload of its namespace, on a container port that workload names.
                var ns = monitor["metadata"]!["namespace"]!.GetValue<string>();
                var selector = monitor["spec"]!["selector"]!["matchLabels"]!.AsObject();
                var workload = objects.Single(o => o["kind"]!.GetValue<string>() is "Deployment" or "DaemonSet" && o["metadata"]!["namespace"]!.GetValue<string>() == ns
                    && selector.All(l => o["spec"]!["template"]!["metadata"]!["labels"]![l.Key]?.GetValue<string>() == l.Value!.GetValue<string>()));
                var ports = workload["spec"]!["template"]!["spec"]!["containers"]!.AsArray().SelectMany(c => c!["ports"]!.AsArray()).Select(p => p!["name"]!.GetValue<string>());
                ports.Should().Contain(monitor["spec"]!["podMetricsEndpoints"]![0]!["port"]!.GetValue<string>());
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The names of every Prometheus metric the operator defines (static fields of its metric classes).</summary>
    private static HashSet<string> ExportedMetrics()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in Architecture.DependencyTable.ProductAssemblies().Select(Assembly.LoadFrom).SelectMany(a => a.GetTypes()))
        {
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            {
                if (typeof(Prometheus.Collector).IsAssignableFrom(field.FieldType) && field.GetValue(null) is Prometheus.Collector collector)
                {
                    names.Add(collector.Name);
                }
            }
        }
        names.Should().Contain("ipvsoperator_node_syncs_total", "the metric classes were found");
        return names;
    }

    private static IEnumerable<JsonNode> Descendants(JsonNode node) => node switch
    {
        JsonObject obj => obj.Select(p => p.Value).OfType<JsonNode>().SelectMany(Descendants).Prepend(obj),
        JsonArray array => array.OfType<JsonNode>().SelectMany(Descendants).Prepend(array),
        _ => [node],
    };

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
