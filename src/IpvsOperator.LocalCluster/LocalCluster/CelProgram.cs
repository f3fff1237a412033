using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Antlr4.Runtime.Tree;
using Cel;
using Cel.Internal;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A CEL expression parsed once (when its CRD or policy is stored) and evaluated per request, on
/// the <c>Cel</c> package. That package is the standard language without Kubernetes' extension
/// libraries (strings, lists, regex, IP, CIDR, quantity, URL, authorizer) and without optional
/// syntax or proto messages: an expression that calls anything else is refused when compiled,
/// naming the function, never passed silently. Cost is bounded by <see cref="CelBudget"/>.
/// </summary>
internal sealed class CelProgram
{
    /// <summary>What the package evaluates as the CEL specification defines it; <c>decimal</c> and the like are its own additions.</summary>
    public static readonly IReadOnlySet<string> Functions = new HashSet<string>(StringComparer.Ordinal)
    {
        "all", "exists", "exists_one", "filter", "map", "has", "size", "matches", "startsWith", "endsWith", "contains",
        "int", "uint", "double", "string", "bool", "bytes", "duration", "timestamp", "dyn", "type",
        "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate", "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
    };

    private static readonly CelEnvironment Environment = CreateEnvironment();
    private static readonly ConcurrentDictionary<string, Regex> Patterns = new(StringComparer.Ordinal);
    private const int MaximumPatterns = 1024;
    private readonly CelProgramDelegate program;

    private CelProgram(string expression, CelProgramDelegate program, IReadOnlySet<string> identifiers)
    {
        Expression = expression;
        this.program = program;
        Identifiers = identifiers;
    }

    public string Expression { get; }

    /// <summary>Every name the expression reads (variables and comprehension variables): whether a rule uses <c>oldSelf</c>.</summary>
    public IReadOnlySet<string> Identifiers { get; }

    /// <summary>Parses and checks <paramref name="expression"/>; throws <see cref="CelCompileException"/> saying why it cannot be evaluated here.</summary>
    public static CelProgram Compile(string expression)
    {
        if (string.IsNullOrWhiteSpace(expression))
        {
            throw new CelCompileException("the expression is empty");
        }
        CelParser.StartContext tree;
        try
        {
            tree = Environment.Parse(expression);
        }
        catch (Exception error)
        {
            throw new CelCompileException($"syntax error: {error.Message.ReplaceLineEndings("; ")}");
        }
        var identifiers = new HashSet<string>(StringComparer.Ordinal);
        Check(tree, identifiers);
        return new CelProgram(expression, Environment.Compile(tree), identifiers);
    }

    /// <summary>
    /// The expression's value under <paramref name="variables"/> (built by <see cref="CelValues"/>).
    /// Throws <see cref="CelBudgetExceededException"/> past the budget in force, and
    /// <see cref="CelEvaluationException"/> for every other error, worded as upstream words it where it can.
    /// </summary>
    public object? Evaluate(IDictionary<string, object?> variables)
    {
        try
        {
            var result = program(variables);
            if (result?.GetType().FullName == "Cel.Internal.CelNoSuchField")
            {
                // The package's marker for a field a selection did not find (its type is internal).
                throw new CelEvaluationException("no such key");
            }
            return result;
        }
        catch (Exception error) when (error is not (CelBudgetExceededException or CelEvaluationException))
        {
            throw new CelEvaluationException(error switch
            {
                Cel.CelNoSuchFieldException or Cel.CelTypeDoesNotSupportFieldSelectionException => NoSuchKey(error.Message),
                Cel.CelNoSuchOverloadException => $"no such overload: {error.Message}",
                RegexMatchTimeoutException => "regular expression took too long",
                _ => error.Message,
            });
        }
    }

    /// <summary>"Cannot find overload to select field 'x' in variable 'self'." as cel-go says it: "no such key: x".</summary>
    private static string NoSuchKey(string message) =>
        Regex.Match(message, "field '([^']*)'") is { Success: true } field ? $"no such key: {field.Groups[1].Value}" : message;

    private static void Check(IParseTree node, HashSet<string> identifiers)
    {
        switch (node)
        {
            case CelParser.IdentOrGlobalCallContext call when call.op is not null:
                Supported(call.id.Text);
                break;
            case CelParser.IdentOrGlobalCallContext identifier:
                identifiers.Add(identifier.id.Text);
                break;
            case CelParser.MemberCallContext call:
                Supported(call.id.Text);
                break;
            case CelParser.SelectContext { opt: not null } or CelParser.IndexContext { opt: not null }:
                throw new CelCompileException("optional field selection (.? and [?]) is not supported by LocalCluster's CEL");
            case CelParser.CreateMessageContext:
                throw new CelCompileException("message construction is not supported by LocalCluster's CEL");
        }
        for (var i = 0; i < node.ChildCount; i++)
        {
            Check(node.GetChild(i), identifiers);
        }
    }

    private static void Supported(string function)
    {
        if (!Functions.Contains(function))
        {
            throw new CelCompileException($"undeclared reference to '{function}': LocalCluster's CEL (the Cel 0.3.3 package) has the standard functions " +
                "and macros only, none of Kubernetes' extension libraries");
        }
    }

    private static CelEnvironment CreateEnvironment()
    {
        var environment = new CelEnvironment(null, null);
        // RE2, as upstream: linear time, no backtracking; every character read is charged.
        environment.RegisterFunction("matches", [typeof(string), typeof(string)], arguments =>
        {
            var text = (string)arguments[0]!;
            CelBudget.Charge(1 + text.Length);
            return Pattern((string)arguments[1]!).IsMatch(text);
        });
        foreach (var name in new[] { "startsWith", "endsWith", "contains" })
        {
            environment.RegisterFunction(name, [typeof(string), typeof(string)], arguments =>
            {
                var (text, part) = ((string)arguments[0]!, (string)arguments[1]!);
                CelBudget.Charge(1 + Math.Min(text.Length, part.Length));
                return name switch
                {
                    "startsWith" => text.StartsWith(part, StringComparison.Ordinal),
                    "endsWith" => text.EndsWith(part, StringComparison.Ordinal),
                    _ => text.Contains(part, StringComparison.Ordinal),
                };
            });
        }
        return environment;
    }

    private static Regex Pattern(string pattern)
    {
        if (Patterns.TryGetValue(pattern, out var cached))
        {
            return cached;
        }
        Regex compiled;
        try
        {
            compiled = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (Exception error) when (error is ArgumentException or NotSupportedException)
        {
            throw new CelEvaluationException($"invalid regular expression '{pattern}': {error.Message}");
        }
        if (Patterns.Count < MaximumPatterns)
        {
            Patterns.TryAdd(pattern, compiled);
        }
        return compiled;
    }
}

/// <summary>An expression LocalCluster cannot evaluate: refused where it is stored, with the reason.</summary>
internal sealed class CelCompileException(string message) : Exception(message);

/// <summary>An expression failed at run time (no such key, no such overload, division by zero, ...).</summary>
internal sealed class CelEvaluationException(string message) : Exception(message);
