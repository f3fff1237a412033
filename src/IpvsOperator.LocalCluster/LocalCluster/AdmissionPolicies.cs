using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// ValidatingAdmissionPolicies and their bindings, evaluated as kube-apiserver evaluates them,
/// before the webhooks: a binding names a policy; the policy's <c>matchConstraints</c> (and the
/// binding's <c>matchResources</c>) choose the requests; its <c>matchConditions</c>, then its
/// <c>variables</c> (as <c>variables.NAME</c>) and <c>validations</c> are CEL over <c>object</c>,
/// <c>oldObject</c> and <c>request</c> (with the requesting user's name, groups and extra). A false
/// validation is acted on as the binding says (<c>Deny</c>: refused with the validation's reason,
/// <c>Warn</c>: a warning, <c>Audit</c>: nothing here); an error follows the policy's
/// <c>failurePolicy</c>. Each policy is compiled once per resourceVersion. Not evaluated: params
/// (<c>paramKind</c>, <c>paramRef</c>), <c>authorizer</c> and <c>namespaceObject</c>; a policy that
/// uses them is an error (so with failurePolicy Fail, a refusal), never silently passed.
/// </summary>
internal sealed class AdmissionPolicies(ObjectStorage storage, AdmissionDispatcher selectors)
{
    private readonly ConcurrentDictionary<string, CompiledPolicy> compiled = new(StringComparer.Ordinal);

    /// <summary>Throws the refusal of the first binding that denies; the warnings of those that warn.</summary>
    public List<string> Validate(AdmissionAttributes request, UserInfo user)
    {
        var warnings = new List<string>();
        var (bindings, _, _, _) = storage.List(ResourceRegistry.ValidatingAdmissionPolicyBindings, null, ObjectFilter.Everything, null, 0);
        if (bindings.Count == 0)
        {
            return warnings;
        }
        var (policies, _, _, _) = storage.List(ResourceRegistry.ValidatingAdmissionPolicies, null, ObjectFilter.Everything, null, 0);
        var byName = policies.ToDictionary(ObjectStorage.NameOf, StringComparer.Ordinal);
        Dictionary<string, object?>? variables = null;
        foreach (var binding in bindings.OrderBy(ObjectStorage.NameOf, StringComparer.Ordinal))
        {
            var spec = binding["spec"] as JsonObject ?? [];
            if (spec["policyName"]?.GetValue<string>() is not { } policyName || !byName.TryGetValue(policyName, out var stored))
            {
                continue;
            }
            var policy = Compile(stored);
            if (!selectors.Matches(policy.Spec["matchConstraints"] as JsonObject ?? [], request, "resourceRules")
                || (spec["matchResources"] is JsonObject { Count: > 0 } narrower && !selectors.Matches(narrower, request, "resourceRules")))
            {
                continue;
            }
            var bindingName = ObjectStorage.NameOf(binding);
            var actions = (spec["validationActions"] as JsonArray)?.Select(a => a?.GetValue<string>()).ToHashSet() ?? [];
            variables ??= Variables(request, user);
            var failures = policy.Evaluate(variables, spec["paramRef"] is not null);
            foreach (var failure in failures)
            {
                var message = $"ValidatingAdmissionPolicy '{policy.Name}' with binding '{bindingName}' denied request: {failure.Message}";
                if (actions.Contains("Deny"))
                {
                    throw new ApiException(failure.Code, failure.Reason, message);
                }
                if (actions.Contains("Warn"))
                {
                    warnings.Add($"Validation failed for ValidatingAdmissionPolicy '{policy.Name}' with binding '{bindingName}': {failure.Message}");
                }
            }
        }
        return warnings;
    }

    private CompiledPolicy Compile(JsonObject policy)
    {
        var key = $"{policy["metadata"]?["uid"]}/{ObjectStorage.ResourceVersionOf(policy)}";
        return compiled.GetOrAdd(key, _ =>
        {
            // Versions replaced are dropped: what is cached stays as large as what is stored.
            foreach (var stale in compiled.Keys.Where(k => k.StartsWith($"{policy["metadata"]?["uid"]}/", StringComparison.Ordinal)))
            {
                compiled.TryRemove(stale, out CompiledPolicy? _);
            }
            return new CompiledPolicy(policy);
        });
    }

    /// <summary>What the expressions see: the objects and the request, as upstream's activation names them.</summary>
    private static Dictionary<string, object?> Variables(AdmissionAttributes request, UserInfo user)
    {
        var resource = request.Resource;
        var kind = new Dictionary<string, object?> { ["group"] = resource.Group, ["version"] = resource.Version, ["kind"] = resource.Kind };
        var gvr = new Dictionary<string, object?> { ["group"] = resource.Group, ["version"] = resource.Version, ["resource"] = resource.Plural };
        return new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["object"] = CelValues.From(request.NewObject),
            ["oldObject"] = CelValues.From(request.OldObject),
            ["params"] = null,
            ["request"] = new Dictionary<string, object?>
            {
                ["kind"] = kind,
                ["resource"] = gvr,
                ["requestKind"] = kind,
                ["requestResource"] = gvr,
                ["subResource"] = request.Subresource ?? string.Empty,
                ["name"] = request.Name,
                ["namespace"] = request.Namespace,
                ["operation"] = request.Operation,
                ["dryRun"] = request.DryRun,
                ["userInfo"] = new Dictionary<string, object?>
                {
                    ["username"] = user.Name,
                    ["uid"] = string.Empty,
                    ["groups"] = new CelList([.. user.Groups]),
                    ["extra"] = CelValues.From(user.Extra),
                },
            },
        };
    }

    private sealed record Failure(HttpStatusCode Code, string Reason, string Message);

    /// <summary>One policy's expressions, parsed once; a parse error is kept and reported on every request it would judge.</summary>
    private sealed class CompiledPolicy
    {
        private readonly List<(string Name, CelProgram Program)> conditions = [];
        private readonly List<(string Name, CelProgram Program)> variables = [];
        private readonly List<Validation> validations = [];
        // What cannot be evaluated: in paramKind or the match conditions (every request is an error),
        // or in a variable or validation (an error for the requests the conditions select, as upstream).
        private readonly string? unsupported;
        private readonly string? unsupportedCheck;
        private readonly bool failOpen;

        public CompiledPolicy(JsonObject policy)
        {
            Name = ObjectStorage.NameOf(policy);
            Spec = policy["spec"] as JsonObject ?? [];
            failOpen = Spec["failurePolicy"]?.GetValue<string>() == "Ignore";
            try
            {
                if (Spec["paramKind"] is not null)
                {
                    throw new CelCompileException("paramKind is not supported by LocalCluster");
                }
                foreach (var condition in (Spec["matchConditions"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    conditions.Add((condition["name"]?.GetValue<string>() ?? string.Empty, CompileChecked(condition["expression"])));
                }
            }
            catch (CelCompileException error)
            {
                unsupported = error.Message;
            }
            try
            {
                foreach (var variable in (Spec["variables"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    variables.Add((variable["name"]?.GetValue<string>() ?? string.Empty, CompileChecked(variable["expression"])));
                }
                foreach (var validation in (Spec["validations"] as JsonArray ?? []).OfType<JsonObject>())
                {
                    validations.Add(new Validation(
                        CompileChecked(validation["expression"]),
                        validation["message"]?.GetValue<string>(),
                        validation["messageExpression"] is { } expression ? CompileChecked(expression) : null,
                        validation["reason"]?.GetValue<string>() ?? "Invalid"));
                }
            }
            catch (CelCompileException error)
            {
                unsupportedCheck = error.Message;
            }
        }

        public string Name { get; }

        public JsonObject Spec { get; }

        private static CelProgram CompileChecked(JsonNode? expression)
        {
            var text = expression?.GetValue<string>() ?? string.Empty;
            var program = CelProgram.Compile(text);
            if (program.Identifiers.Contains("authorizer") || program.Identifiers.Contains("namespaceObject"))
            {
                throw new CelCompileException($"'{text}': authorizer and namespaceObject are not supported by LocalCluster");
            }
            return program;
        }

        /// <summary>The validations that failed (empty when the request passes or the policy does not apply).</summary>
        public List<Failure> Evaluate(Dictionary<string, object?> activation, bool hasParamRef)
        {
            if (unsupported is not null || hasParamRef)
            {
                return Error(unsupported ?? "paramRef is not supported by LocalCluster");
            }
            var budget = CustomResourceRules.RequestBudget;
            try
            {
                foreach (var (name, condition) in conditions)
                {
                    if (Run(condition, activation, ref budget) is not bool holds)
                    {
                        return Error($"matchCondition '{name}' did not evaluate to a bool");
                    }
                    if (!holds)
                    {
                        return [];
                    }
                }
                if (unsupportedCheck is not null)
                {
                    return Error(unsupportedCheck);
                }
                var values = new Dictionary<string, object?>(StringComparer.Ordinal);
                var scope = new Dictionary<string, object?>(activation, StringComparer.Ordinal) { ["variables"] = values };
                foreach (var (name, variable) in variables)
                {
                    values[name] = Run(variable, scope, ref budget);
                }
                var failures = new List<Failure>();
                foreach (var validation in validations)
                {
                    var result = Run(validation.Program, scope, ref budget);
                    if (result is true)
                    {
                        continue;
                    }
                    if (result is not false)
                    {
                        failures.AddRange(Error($"expression '{validation.Program.Expression}' resulted in {CelValues.TypeName(result)}, not bool"));
                        continue;
                    }
                    var message = validation.MessageExpression is { } expression && Run(expression, scope, ref budget) is string { Length: > 0 } text
                        ? text
                        : validation.Message ?? $"failed expression: {validation.Program.Expression.Trim()}";
                    failures.Add(new Failure(CodeOf(validation.Reason), validation.Reason, message));
                }
                return failures;
            }
            catch (Exception error) when (error is CelEvaluationException or CelBudgetExceededException)
            {
                return Error(error.Message);
            }
        }

        private static object? Run(CelProgram program, Dictionary<string, object?> activation, ref long budget)
        {
            var (result, spent) = CelBudget.Run(Math.Min(CelBudget.PerCallLimit, budget), () => program.Evaluate(activation));
            budget -= spent;
            return result;
        }

        /// <summary>An expression that cannot be evaluated: a refusal under failurePolicy Fail (the default), nothing under Ignore.</summary>
        private List<Failure> Error(string why) =>
            failOpen ? [] : [new Failure((HttpStatusCode)422, "Invalid", $"expression could not be evaluated: {why}")];

        private static HttpStatusCode CodeOf(string reason) => reason switch
        {
            "Unauthorized" => HttpStatusCode.Unauthorized,
            "Forbidden" => HttpStatusCode.Forbidden,
            "RequestEntityTooLarge" => HttpStatusCode.RequestEntityTooLarge,
            _ => (HttpStatusCode)422,
        };

        private sealed record Validation(CelProgram Program, string? Message, CelProgram? MessageExpression, string Reason);
    }
}
