using System.Reflection;
using IpvsOperator.Runtime.Rbac;
using k8s.Models;

namespace IpvsOperator.Runtime.Generation;

/// <summary>
/// One ValidatingAdmissionPolicy and binding per component with <see cref="WriteRuleAttribute"/>s:
/// the policy matches the writes of the component's ServiceAccount (in whatever namespace kustomize
/// puts it) to the kinds the rules name, and every rule must hold; the binding denies what fails.
/// Kubernetes 1.30 serves the API; a token that names its node, which rules on variables.nodeName
/// need, comes with Kubernetes 1.32.
/// </summary>
internal static class WritePolicyGenerator
{
    private const string NodeNameKey = "authentication.kubernetes.io/node-name";

    public static IReadOnlyDictionary<string, (V1ValidatingAdmissionPolicy Policy, V1ValidatingAdmissionPolicyBinding Binding)> Generate(IEnumerable<Type> types, string rolePrefix) =>
        types.SelectMany(t => t.GetCustomAttributes<WriteRuleAttribute>())
            .GroupBy(r => r.Component)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => Policy($"{rolePrefix}-{g.Key}", g.OrderBy(Key, StringComparer.Ordinal).ToList()), StringComparer.Ordinal);

    private static string Key(WriteRuleAttribute rule) => $"{RbacGenerator.Resource(rule.Entity)}|{rule.Rule}";

    private static (V1ValidatingAdmissionPolicy, V1ValidatingAdmissionPolicyBinding) Policy(string account, List<WriteRuleAttribute> rules)
    {
        var name = $"{account}-writes";
        var validations = new List<V1Validation>();
        if (rules.Any(r => r.Rule.Contains("variables.nodeName", StringComparison.Ordinal)))
        {
            validations.Add(new V1Validation
            {
                Expression = "variables.nodeName != ''",
                Message = $"the request's credentials name no node ({NodeNameKey}): {account} must run with the ServiceAccount token of its pod, which Kubernetes 1.32 and later bind to the pod's node",
                Reason = "Forbidden",
            });
        }
        foreach (var rule in rules)
        {
            var (group, resource) = RbacGenerator.Resource(rule.Entity);
            // Each rule judges only the writes it is about; the others pass it.
            var scope = $"request.resource.group == '{group}' && request.resource.resource == '{resource}' && request.operation in [{string.Join(", ", Operations(rule.Verbs).Select(o => $"'{o}'"))}]";
            validations.Add(new V1Validation
            {
                Expression = $"!({scope}) || ({rule.Rule})",
                Message = rule.Message,
                MessageExpression = rule.MessageExpression,
                Reason = "Forbidden",
            });
        }
        var resourceRules = rules.GroupBy(r => RbacGenerator.Resource(r.Entity)).OrderBy(g => g.Key.Group, StringComparer.Ordinal).ThenBy(g => g.Key.Resource, StringComparer.Ordinal)
            .Select(g => new V1NamedRuleWithOperations
            {
                ApiGroups = [g.Key.Group],
                ApiVersions = ["*"],
                Resources = [g.Key.Resource, $"{g.Key.Resource}/*"],
                Operations = [.. Operations(g.Aggregate(RbacVerb.None, (all, r) => all | r.Verbs))],
            }).ToList();
        var policy = new V1ValidatingAdmissionPolicy
        {
            ApiVersion = "admissionregistration.k8s.io/v1",
            Kind = "ValidatingAdmissionPolicy",
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1ValidatingAdmissionPolicySpec
            {
                FailurePolicy = "Fail",
                MatchConstraints = new V1MatchResources { ResourceRules = resourceRules },
                MatchConditions =
                [
                    new V1MatchCondition
                    {
                        Name = "written-by-" + account,
                        Expression = $"request.userInfo.username.startsWith('system:serviceaccount:') && request.userInfo.username.endsWith(':{account}')",
                    },
                ],
                Variables =
                [
                    new V1Variable
                    {
                        Name = "nodeName",
                        Expression = $"'{NodeNameKey}' in request.userInfo.extra && size(request.userInfo.extra['{NodeNameKey}']) == 1 ? request.userInfo.extra['{NodeNameKey}'][0] : ''",
                    },
                    new V1Variable { Name = "written", Expression = "request.operation == 'DELETE' ? oldObject : object" },
                ],
                Validations = validations,
            },
        };
        var binding = new V1ValidatingAdmissionPolicyBinding
        {
            ApiVersion = "admissionregistration.k8s.io/v1",
            Kind = "ValidatingAdmissionPolicyBinding",
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1ValidatingAdmissionPolicyBindingSpec { PolicyName = name, ValidationActions = ["Deny"] },
        };
        return (policy, binding);
    }

    private static IEnumerable<string> Operations(RbacVerb verbs)
    {
        if (verbs.HasFlag(RbacVerb.Create))
        {
            yield return "CREATE";
        }
        if (verbs.HasFlag(RbacVerb.Update) || verbs.HasFlag(RbacVerb.Patch))
        {
            yield return "UPDATE";
        }
        if (verbs.HasFlag(RbacVerb.Delete))
        {
            yield return "DELETE";
        }
    }
}
