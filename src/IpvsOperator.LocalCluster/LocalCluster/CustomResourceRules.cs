using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// The <c>x-kubernetes-validations</c> rules of a CRD's schema, compiled once when the CRD is stored
/// and evaluated on every create and update as kube-apiserver evaluates them: <c>self</c> is the
/// value where the rule sits (never null: a rule on an absent or null field does not run),
/// transition rules (those reading <c>oldSelf</c>) run only on an update whose old object has a
/// value there (correlated by property, by map key and by the keys of a <c>map</c> list), a false
/// rule is one cause of the 422 with its <c>message</c>, <c>messageExpression</c>, <c>reason</c>
/// and <c>fieldPath</c>, and each call and the request as a whole have upstream's cost limits.
/// </summary>
internal sealed class CustomResourceRules
{
    /// <summary>Upstream's budget for one request's rules (<c>celconfig.RuntimeCELCostBudget</c>).</summary>
    public const long RequestBudget = 10_000_000;

    private readonly Node root;

    private CustomResourceRules(Node root) => this.root = root;

    /// <summary>Null when the schema has no rule. Throws <see cref="CelRuleException"/> naming the first rule that cannot be compiled.</summary>
    public static CustomResourceRules? Compile(JsonObject structural)
    {
        var root = Build(structural, "spec.versions[0].schema.openAPIV3Schema", isRoot: true);
        return root is null ? null : new CustomResourceRules(root);
    }

    /// <summary>The causes of the 422, empty when every rule holds.</summary>
    public List<(string Field, string Message)> Validate(JsonObject obj, JsonObject? old)
    {
        var errors = new List<(string, string)>();
        var budget = RequestBudget;
        Validate(root, obj, old, null, errors, ref budget);
        return errors;
    }

    private static void Validate(Node node, JsonNode? value, JsonNode? old, string? path, List<(string, string)> errors, ref long budget)
    {
        if (value is null || budget < 0)
        {
            return;
        }
        if (node.Rules.Count > 0)
        {
            Evaluate(node, value, old, path, errors, ref budget);
        }
        switch (value)
        {
            case JsonObject obj:
                foreach (var (name, child) in node.Properties)
                {
                    if (obj[name] is { } field)
                    {
                        Validate(child, field, (old as JsonObject)?[name], Join(path, name), errors, ref budget);
                    }
                }
                if (node.Values is { } values)
                {
                    foreach (var (key, field) in obj)
                    {
                        Validate(values, field, (old as JsonObject)?[key], Join(path, key), errors, ref budget);
                    }
                }
                break;
            case JsonArray list when node.Items is { } items:
                var oldItems = old as JsonArray;
                for (var i = 0; i < list.Count; i++)
                {
                    Validate(items, list[i], Correlated(node.MapKeys, list[i], oldItems), $"{path}[{i}]", errors, ref budget);
                }
                break;
        }
    }

    /// <summary>The old item a new one continues: only in a <c>map</c> list, by its keys (an atomic list's items have no identity).</summary>
    private static JsonObject? Correlated(IReadOnlyList<string>? keys, JsonNode? item, JsonArray? old)
    {
        if (keys is null || old is null || item is not JsonObject entry)
        {
            return null;
        }
        return old.OfType<JsonObject>().FirstOrDefault(o => keys.All(k => JsonNode.DeepEquals(o[k], entry[k])));
    }

    private static void Evaluate(Node node, JsonNode value, JsonNode? old, string? path, List<(string, string)> errors, ref long budget)
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["self"] = CelValues.From(node.IsRoot ? RootView(value) : value),
            ["oldSelf"] = old is null ? null : CelValues.From(node.IsRoot ? RootView(old) : old),
        };
        var field = path ?? "<nil>";
        foreach (var rule in node.Rules)
        {
            if (rule.UsesOldSelf && old is null)
            {
                continue; // a transition rule needs something to compare with
            }
            if (budget <= 0)
            {
                errors.Add((field, Invalid(node.Type, "validation failed due to running out of cost budget, no further validation rules will be run")));
                budget = -1;
                return;
            }
            object? result;
            try
            {
                (result, var spent) = CelBudget.Run(Math.Min(CelBudget.PerCallLimit, budget), () => rule.Program.Evaluate(variables));
                budget -= spent;
            }
            catch (CelBudgetExceededException error)
            {
                errors.Add((field, Invalid(node.Type, budget < CelBudget.PerCallLimit
                    ? "validation failed due to running out of cost budget, no further validation rules will be run"
                    : $"'{error.Message}': no further validation rules will be run due to call cost exceeds limit for rule: {rule.ErrorText}")));
                budget = -1;
                return;
            }
            catch (CelEvaluationException error)
            {
                errors.Add((field, Invalid(node.Type, error.Message.StartsWith("no such overload", StringComparison.Ordinal)
                    ? $"'{error.Message}': call arguments did not match a supported operator, function or macro signature for rule: {rule.ErrorText}"
                    : $"{error.Message} evaluating rule: {rule.ErrorText}")));
                continue;
            }
            if (result is true)
            {
                continue;
            }
            if (result is not false)
            {
                errors.Add((field, Invalid(node.Type, $"rule evaluated to {CelValues.TypeName(result)}, not bool: {rule.ErrorText}")));
                continue;
            }
            var at = rule.FieldPath is null ? field : Join(path, rule.FieldPath);
            errors.Add((at, Failure(rule, node.Type, MessageOf(rule, variables, ref budget))));
        }
    }

    /// <summary>The rule's messageExpression when it yields a non-empty string, else its message, else "failed rule: RULE".</summary>
    private static string MessageOf(CompiledRule rule, Dictionary<string, object?> variables, ref long budget)
    {
        if (rule.MessageExpression is { } expression && budget > 0)
        {
            try
            {
                var (message, spent) = CelBudget.Run(Math.Min(CelBudget.PerCallLimit, budget), () => expression.Evaluate(variables));
                budget -= spent;
                if (message is string { Length: > 0 } text && !text.Contains('\n', StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(text))
                {
                    return text.Trim();
                }
            }
            catch (Exception error) when (error is CelEvaluationException or CelBudgetExceededException)
            {
                // As upstream: a failing messageExpression falls back to the message.
            }
        }
        return rule.Message ?? $"failed rule: {rule.ErrorText}";
    }

    private static string Failure(CompiledRule rule, string type, string detail) => rule.Reason switch
    {
        "FieldValueForbidden" => $"Forbidden: {detail}",
        "FieldValueRequired" => $"Required value: {detail}",
        "FieldValueDuplicate" => $"Duplicate value: \"{type}\"",
        _ => Invalid(type, detail),
    };

    private static string Invalid(string type, string detail) => $"Invalid value: \"{type}\": {detail}";

    /// <summary>At the root a rule sees apiVersion, kind and of metadata only name and generateName, as upstream.</summary>
    private static JsonObject RootView(JsonNode value)
    {
        var copy = (JsonObject)value.DeepClone();
        if (copy["metadata"] is JsonObject metadata)
        {
            copy["metadata"] = new JsonObject(metadata.Where(p => p.Key is "name" or "generateName").Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
        }
        return copy;
    }

    private static string Join(string? path, string name) => path is null ? name : $"{path}.{name}";

    private static Node? Build(JsonObject schema, string location, bool isRoot = false)
    {
        var node = new Node
        {
            IsRoot = isRoot,
            Type = schema["type"]?.GetValue<string>() ?? (schema["x-kubernetes-int-or-string"] is not null ? "string" : "object"),
            MapKeys = schema["x-kubernetes-list-type"]?.GetValue<string>() == "map"
                ? [.. (schema["x-kubernetes-list-map-keys"] as JsonArray ?? []).Select(k => k!.GetValue<string>())]
                : null,
        };
        if (schema["x-kubernetes-validations"] is JsonArray rules)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                node.Rules.Add(CompiledRule.Compile(rules[i] as JsonObject ?? [], $"{location}.x-kubernetes-validations[{i}]"));
            }
        }
        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (name, property) in properties)
            {
                if (property is JsonObject child && Build(child, $"{location}.properties[{name}]") is { } built)
                {
                    node.Properties[name] = built;
                }
            }
        }
        if (schema["additionalProperties"] is JsonObject values)
        {
            node.Values = Build(values, $"{location}.additionalProperties");
        }
        if (schema["items"] is JsonObject items)
        {
            node.Items = Build(items, $"{location}.items");
        }
        var empty = node.Rules.Count == 0 && node.Properties.Count == 0 && node.Values is null && node.Items is null;
        return empty ? null : node;
    }

    private sealed class Node
    {
        public bool IsRoot { get; init; }
        public required string Type { get; init; }
        public IReadOnlyList<string>? MapKeys { get; init; }
        public List<CompiledRule> Rules { get; } = [];
        public Dictionary<string, Node> Properties { get; } = new(StringComparer.Ordinal);
        public Node? Values { get; set; }
        public Node? Items { get; set; }
    }

    private sealed record CompiledRule(CelProgram Program, string? Message, CelProgram? MessageExpression, string? Reason, string? FieldPath)
    {
        public bool UsesOldSelf => Program.Identifiers.Contains("oldSelf");

        /// <summary>How upstream names a rule in its errors: the message when there is one, else the rule.</summary>
        public string ErrorText => Message ?? Program.Expression.Trim();

        public static CompiledRule Compile(JsonObject rule, string location)
        {
            var text = rule["rule"]?.GetValue<string>() ?? string.Empty;
            var message = rule["message"]?.GetValue<string>();
            var reason = rule["reason"]?.GetValue<string>();
            if (reason is not (null or "FieldValueInvalid" or "FieldValueForbidden" or "FieldValueRequired" or "FieldValueDuplicate"))
            {
                throw new CelRuleException($"{location}.reason",
                    $"Unsupported value: \"{reason}\": supported values: \"FieldValueDuplicate\", \"FieldValueForbidden\", \"FieldValueInvalid\", \"FieldValueRequired\"");
            }
            if (message is not null && message.Contains('\n', StringComparison.Ordinal))
            {
                throw new CelRuleException($"{location}.message", "Invalid value: \"\": message must not contain line breaks");
            }
            var program = CompileAt(text, $"{location}.rule");
            var messageExpression = rule["messageExpression"]?.GetValue<string>() is { } expression ? CompileAt(expression, $"{location}.messageExpression") : null;
            return new CompiledRule(program, string.IsNullOrWhiteSpace(message) ? null : message.Trim(), messageExpression, reason, FieldPathOf(rule["fieldPath"]?.GetValue<string>(), location));
        }

        private static CelProgram CompileAt(string expression, string field)
        {
            try
            {
                return CelProgram.Compile(expression);
            }
            catch (CelCompileException error)
            {
                throw new CelRuleException(field, $"Invalid value: \"{expression}\": compilation failed: {error.Message}");
            }
        }

        /// <summary>".a.b" or ".a['b']" as a field path under the rule's own ("a.b"); numeric indexes are not allowed, as upstream.</summary>
        private static string? FieldPathOf(string? fieldPath, string location)
        {
            if (string.IsNullOrEmpty(fieldPath))
            {
                return null;
            }
            var match = System.Text.RegularExpressions.Regex.Match(fieldPath, @"^((\.[A-Za-z_][A-Za-z0-9_]*)|(\['[^']+'\]))+$");
            if (!match.Success)
            {
                throw new CelRuleException($"{location}.fieldPath", $"Invalid value: \"{fieldPath}\": must be a relative path of fields such as .spec.field or .map['key']");
            }
            return System.Text.RegularExpressions.Regex.Replace(fieldPath, @"\['([^']+)'\]", ".$1").TrimStart('.');
        }
    }
}

/// <summary>A rule of a CRD that cannot be stored: the field of the CRD at fault and upstream's message.</summary>
internal sealed class CelRuleException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}
