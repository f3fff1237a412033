using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// A CRD's <c>x-kubernetes-validations</c> rules, as kube-apiserver evaluates them: a broken rule
/// refuses the object with 422 Invalid, one cause per rule, with the rule's message (or
/// messageExpression, reason and fieldPath); transition rules compare with the stored object; a
/// rule LocalCluster cannot evaluate refuses the CRD rather than passing every object.
/// </summary>
public class CelValidationRuleTests : LocalClusterFixture
{
    private const string Group = "cel.example.com";

    private static V1CustomResourceDefinition Definition(string plural, string kind, string specSchema) =>
        KubernetesJson.Deserialize<V1CustomResourceDefinition>($$"""
        {
          "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
          "metadata": { "name": "{{plural}}.{{Group}}" },
          "spec": {
            "group": "{{Group}}", "scope": "Cluster",
            "names": { "plural": "{{plural}}", "singular": "{{kind.ToLowerInvariant()}}", "kind": "{{kind}}", "listKind": "{{kind}}List" },
            "versions": [ { "name": "v1", "served": true, "storage": true,
              "schema": { "openAPIV3Schema": { "type": "object", "properties": { "spec": {{specSchema}} } } } } ]
          }
        }
        """);

    private const string WidgetSpec = """
        {
          "type": "object",
          "x-kubernetes-validations": [
            { "rule": "self.minReplicas <= self.maxReplicas", "message": "minReplicas must not exceed maxReplicas" },
            { "rule": "!has(self.tier) || self.tier != 'gold' || self.maxReplicas >= 3",
              "messageExpression": "'a gold widget needs at least 3 replicas, not ' + string(self.maxReplicas)", "fieldPath": ".maxReplicas" },
            { "rule": "!has(self.owner) || self.owner == oldSelf.owner", "message": "owner cannot be changed", "reason": "FieldValueForbidden" },
            { "rule": "!has(self.owner) || !self.owner.startsWith('system:')" }
          ],
          "properties": {
            "minReplicas": { "type": "integer", "default": 1 },
            "maxReplicas": { "type": "integer", "default": 1 },
            "tier": { "type": "string" },
            "owner": { "type": "string" },
            "ports": { "type": "array", "items": { "type": "integer" },
              "x-kubernetes-validations": [ { "rule": "self.all(p, self.all(q, p + q > 0))", "message": "every pair of ports must add up above zero" } ] },
            "labels": { "type": "object", "additionalProperties": { "type": "string", "x-kubernetes-validations": [ { "rule": "size(self) <= 5" } ] } }
          }
        }
        """;

    [OneTimeSetUp]
    public async Task InstallAsync() =>
        await Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(Definition("widgets", "Widget", WidgetSpec));

    private Task<object> CreateAsync(string name, string spec) => Client.CustomObjects.CreateClusterCustomObjectAsync(
        JsonDocument.Parse($$"""{"apiVersion":"{{Group}}/v1","kind":"Widget","metadata":{"name":"{{name}}"},"spec":{{spec}}}""").RootElement, Group, "v1", "widgets");

    private Task<object> PatchAsync(string name, string patch) => Client.CustomObjects.PatchClusterCustomObjectAsync(
        new V1Patch(patch, V1Patch.PatchType.MergePatch), Group, "v1", "widgets", name);

    /// <summary>The Status of a refused call, whole: message, reason, code and causes.</summary>
    private static async Task<JsonObject> StatusOf(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (HttpOperationException error)
        {
            return JsonNode.Parse(error.Response.Content)!.AsObject();
        }
        Assert.Fail("the call succeeded, but it was expected to be refused");
        throw new InvalidOperationException();
    }

    private static IEnumerable<(string? Field, string? Reason, string? Message)> Causes(JsonObject status) =>
        (status["details"]?["causes"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(c => (c["field"]?.GetValue<string>(), c["reason"]?.GetValue<string>(), c["message"]?.GetValue<string>()));

    [Test]
    public async Task A_broken_rule_refuses_the_object_with_422_Invalid_and_the_rule_message_at_the_rule_field()
    {
        var status = await StatusOf(() => CreateAsync("inverted", """{"minReplicas":5,"maxReplicas":2}"""));

        status["code"]!.GetValue<int>().Should().Be(422);
        status["reason"]!.GetValue<string>().Should().Be("Invalid");
        status["message"]!.GetValue<string>().Should().Be("Widget.cel.example.com \"inverted\" is invalid: spec: Invalid value: \"object\": minReplicas must not exceed maxReplicas");
        Causes(status).Should().Equal(("spec", "FieldValueInvalid", "Invalid value: \"object\": minReplicas must not exceed maxReplicas"));
        (await Client.CustomObjects.ListClusterCustomObjectAsync(Group, "v1", "widgets")).ToString().Should().NotContain("inverted", "nothing was stored");
    }

    [Test]
    public async Task A_message_expression_gives_the_message_and_a_field_path_moves_the_cause()
    {
        var status = await StatusOf(() => CreateAsync("gold", """{"tier":"gold","maxReplicas":2}"""));

        Causes(status).Should().Equal(("spec.maxReplicas", "FieldValueInvalid", "Invalid value: \"object\": a gold widget needs at least 3 replicas, not 2"));
    }

    [Test]
    public async Task A_rule_without_a_message_is_reported_as_failed_rule_and_several_broken_rules_are_one_cause_each()
    {
        var status = await StatusOf(() => CreateAsync("several", """{"owner":"system:x","minReplicas":3,"maxReplicas":2}"""));

        Causes(status).Select(c => c.Message).Should().BeEquivalentTo(
            "Invalid value: \"object\": minReplicas must not exceed maxReplicas",
            "Invalid value: \"object\": failed rule: !has(self.owner) || !self.owner.startsWith('system:')");
        status["message"]!.GetValue<string>().Should().StartWith("Widget.cel.example.com \"several\" is invalid: [spec: ");
    }

    [Test]
    public async Task Rules_under_lists_and_maps_run_once_per_item_with_its_path()
    {
        var status = await StatusOf(() => CreateAsync("labels", """{"labels":{"ok":"short","bad":"far too long"}}"""));

        Causes(status).Should().Equal(("spec.labels.bad", "FieldValueInvalid", "Invalid value: \"string\": failed rule: size(self) <= 5"));
    }

    [Test]
    public async Task A_transition_rule_runs_on_update_only_and_its_reason_sets_the_cause_type()
    {
        await CreateAsync("owned", """{"owner":"alice"}""");

        await PatchAsync("owned", """{"spec":{"maxReplicas":4}}""");
        var status = await StatusOf(() => PatchAsync("owned", """{"spec":{"owner":"mallory"}}"""));

        Causes(status).Should().Equal(("spec", "FieldValueForbidden", "Forbidden: owner cannot be changed"));
        status["code"]!.GetValue<int>().Should().Be(422);
    }

    [Test]
    public async Task A_rule_that_costs_more_than_the_per_call_limit_stops_validation_with_upstreams_message()
    {
        var ports = string.Join(",", Enumerable.Range(1, 1500));

        var status = await StatusOf(() => CreateAsync("costly", $$"""{"ports":[{{ports}}]}"""));

        Causes(status).Should().ContainSingle().Which.Message.Should().Be(
            "Invalid value: \"array\": 'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: every pair of ports must add up above zero");
        await CreateAsync("cheap", """{"ports":[80,443]}""");
    }

    [Test]
    public async Task An_error_while_evaluating_is_a_cause_naming_the_rule()
    {
        await Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(Definition("gadgets", "Gadget", """
            { "type": "object", "properties": { "limit": { "type": "integer" } }, "x-kubernetes-validations": [ { "rule": "self.limit > 0" } ] }
            """));

        var status = await StatusOf(() => Client.CustomObjects.CreateClusterCustomObjectAsync(
            JsonDocument.Parse("{\"apiVersion\":\"" + Group + "/v1\",\"kind\":\"Gadget\",\"metadata\":{\"name\":\"no-limit\"},\"spec\":{}}").RootElement, Group, "v1", "gadgets"));

        Causes(status).Should().Equal(("spec", "FieldValueInvalid", "Invalid value: \"object\": no such key: limit evaluating rule: self.limit > 0"));
    }

    [Test]
    public async Task A_CRD_whose_rule_LocalCluster_cannot_evaluate_is_refused_naming_the_rule_and_the_function()
    {
        var error = await ApiErrors.Of(() => Client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(Definition("gizmos", "Gizmo", """
            { "type": "object", "properties": { "name": { "type": "string" } }, "x-kubernetes-validations": [ { "rule": "self.name.lowerAscii() == self.name" } ] }
            """)));

        error.Code.Should().Be((HttpStatusCode)422);
        error.Message.Should().Contain("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule")
            .And.Contain("compilation failed: undeclared reference to 'lowerAscii'");
        (await Client.ApiextensionsV1.ListCustomResourceDefinitionAsync()).Items.Should().NotContain(c => c.Metadata.Name == $"gizmos.{Group}");
    }

    [Test]
    public async Task An_update_that_adds_a_rule_LocalCluster_cannot_evaluate_is_refused_and_the_served_rules_stay()
    {
        var patch = new V1Patch("""[{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/properties/spec/x-kubernetes-validations/-","value":{"rule":"self.tier.split('-').size() == 2"}}]""",
            V1Patch.PatchType.JsonPatch);

        var error = await ApiErrors.Of(() => Client.ApiextensionsV1.PatchCustomResourceDefinitionAsync(patch, $"widgets.{Group}"));

        error.Code.Should().Be((HttpStatusCode)422);
        error.Message.Should().Contain("x-kubernetes-validations[4].rule").And.Contain("undeclared reference to 'split'");
        Causes(await StatusOf(() => CreateAsync("still-checked", """{"minReplicas":2,"maxReplicas":1}"""))).Should().ContainSingle();
    }

    [Test]
    public async Task A_value_of_the_wrong_type_is_reported_without_running_the_rules()
    {
        var status = await StatusOf(() => CreateAsync("typed", """{"minReplicas":"many"}"""));

        Causes(status).Select(c => c.Message).Should().Contain(m => m!.Contains("some validation rules were not checked because the object was invalid"));
    }
}
