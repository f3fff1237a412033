using System.Text.Json.Nodes;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// A label selector as the API server evaluates it: requirements that must all hold, read from the
/// query syntax (<c>a=b,c!=d,e in (x,y),f notin (z),g,!h</c>) or from a <c>LabelSelector</c> object
/// (<c>matchLabels</c>, <c>matchExpressions</c>). LocalCluster's own: it shares no code with the
/// operator it stands in front of, so that a bug in the operator's selectors cannot hide here.
/// </summary>
internal sealed class LabelQuery
{
    private enum Operator
    {
        Equals,
        NotEquals,
        In,
        NotIn,
        Exists,
        DoesNotExist,
        GreaterThan,
        LessThan,
    }

    private readonly record struct Requirement(string Key, Operator Operator, IReadOnlyList<string> Values)
    {
        public bool Matches(IReadOnlyDictionary<string, string> labels)
        {
            var present = labels.TryGetValue(Key, out var value);
            return Operator switch
            {
                Operator.Equals => present && value == Values[0],
                Operator.NotEquals => !present || value != Values[0],
                Operator.In => present && Values.Contains(value!),
                Operator.NotIn => !present || !Values.Contains(value!),
                Operator.Exists => present,
                Operator.GreaterThan => present && long.TryParse(value, out var number) && number > long.Parse(Values[0], System.Globalization.CultureInfo.InvariantCulture),
                Operator.LessThan => present && long.TryParse(value, out var number) && number < long.Parse(Values[0], System.Globalization.CultureInfo.InvariantCulture),
                _ => !present,
            };
        }
    }

    private readonly List<Requirement> requirements;

    private LabelQuery(List<Requirement> requirements) => this.requirements = requirements;

    public bool Matches(IReadOnlyDictionary<string, string> labels) => requirements.All(r => r.Matches(labels));

    /// <summary>
    /// The query syntax of <c>?labelSelector=</c>, read as upstream's parser reads it (its tokens,
    /// its grammar and its messages): <c>!!a</c> and <c>a==b==c</c> are 400s, and <c>a notin ()</c>
    /// is upstream's <c>a notin ("")</c>.
    /// </summary>
    public static LabelQuery Parse(string selector)
    {
        try
        {
            return new LabelQuery(new SelectorParser(selector).Parse());
        }
        catch (FormatException error)
        {
            throw ApiException.BadRequest($"unable to parse label selector \"{selector}\": {error.Message}");
        }
    }

    private enum Token { End, Identifier, DoesNotExist, Equals, DoubleEquals, NotEquals, In, NotIn, GreaterThan, LessThan, Open, Close, Comma }

    /// <summary>k8s.io/apimachinery's labels.Parser: a lexer of identifiers and symbols, and a recursive descent over them.</summary>
    private sealed class SelectorParser
    {
        private static readonly Dictionary<string, Token> Symbols = new(StringComparer.Ordinal)
        {
            ["!"] = Token.DoesNotExist, ["!="] = Token.NotEquals, ["="] = Token.Equals, ["=="] = Token.DoubleEquals,
            [">"] = Token.GreaterThan, ["<"] = Token.LessThan, ["("] = Token.Open, [")"] = Token.Close, [","] = Token.Comma,
            ["in"] = Token.In, ["notin"] = Token.NotIn,
        };

        private readonly List<(Token Token, string Literal)> tokens = [];
        private int next;

        public SelectorParser(string selector)
        {
            var at = 0;
            while (true)
            {
                while (at < selector.Length && char.IsWhiteSpace(selector[at]))
                {
                    at++;
                }
                if (at == selector.Length)
                {
                    tokens.Add((Token.End, string.Empty));
                    return;
                }
                var start = at;
                if (IsSymbol(selector[at]))
                {
                    // The longest symbol that is a token, as upstream's scanSpecialSymbol.
                    var length = at + 1 < selector.Length && Symbols.ContainsKey(selector.Substring(at, 2)) ? 2 : 1;
                    at += length;
                    var symbol = selector.Substring(start, length);
                    tokens.Add((Symbols.TryGetValue(symbol, out var token) ? token : Token.Identifier, symbol));
                    continue;
                }
                while (at < selector.Length && !IsSymbol(selector[at]) && !char.IsWhiteSpace(selector[at]))
                {
                    at++;
                }
                var word = selector[start..at];
                tokens.Add((word is "in" or "notin" ? Symbols[word] : Token.Identifier, word));
            }
        }

        private static bool IsSymbol(char c) => c is '!' or '=' or '>' or '<' or '(' or ')' or ',';

        // Where a value is expected, "in" and "notin" are words like any other.
        private (Token Token, string Literal) Lookahead(bool values = true) =>
            values && tokens[next].Token is Token.In or Token.NotIn ? (Token.Identifier, tokens[next].Literal) : tokens[next];

        private (Token Token, string Literal) Consume(bool values = true)
        {
            var token = Lookahead(values);
            next = Math.Min(next + 1, tokens.Count - 1);
            return token;
        }

        public List<Requirement> Parse()
        {
            var requirements = new List<Requirement>();
            while (true)
            {
                var (token, literal) = Lookahead();
                switch (token)
                {
                    case Token.Identifier or Token.DoesNotExist:
                        try
                        {
                            requirements.Add(ParseRequirement());
                        }
                        catch (FormatException error)
                        {
                            throw new FormatException($"unable to parse requirement: {error.Message}");
                        }
                        var (after, afterLiteral) = Consume();
                        if (after == Token.End)
                        {
                            return requirements;
                        }
                        if (after != Token.Comma)
                        {
                            throw new FormatException($"found '{afterLiteral}', expected: ',' or 'end of string'");
                        }
                        if (Lookahead() is var (then, thenLiteral) && then is not (Token.Identifier or Token.DoesNotExist))
                        {
                            throw new FormatException($"found '{thenLiteral}', expected: identifier after ','");
                        }
                        break;
                    case Token.End:
                        return requirements;
                    default:
                        throw new FormatException($"found '{literal}', expected: !, identifier, or 'end of string'");
                }
            }
        }

        private Requirement ParseRequirement()
        {
            var (token, literal) = Consume();
            var absent = token == Token.DoesNotExist;
            if (absent)
            {
                (token, literal) = Consume();
            }
            if (token != Token.Identifier)
            {
                throw new FormatException($"found '{literal}', expected: identifier");
            }
            var key = literal;
            if (absent || Lookahead().Token is Token.End or Token.Comma)
            {
                return new Requirement(key, absent ? Operator.DoesNotExist : Operator.Exists, []);
            }
            var (op, opLiteral) = Consume(values: false);
            return op switch
            {
                Token.In or Token.NotIn => new Requirement(key, op == Token.In ? Operator.In : Operator.NotIn, ParseValues()),
                Token.Equals or Token.DoubleEquals => new Requirement(key, Operator.Equals, [ParseExactValue()]),
                Token.NotEquals => new Requirement(key, Operator.NotEquals, [ParseExactValue()]),
                Token.GreaterThan or Token.LessThan => Numeric(key, op, ParseExactValue()),
                Token.End => throw new FormatException($"found '{opLiteral}', expected: operator"),
                _ => throw new FormatException($"found '{opLiteral}', expected: in, notin, =, ==, !=, gt, lt"),
            };
        }

        private static Requirement Numeric(string key, Token op, string value) =>
            long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _)
                ? new Requirement(key, op == Token.GreaterThan ? Operator.GreaterThan : Operator.LessThan, [value])
                : throw new FormatException($"for 'Gt', 'Lt' operators, the value must be an integer: {value}");

        private List<string> ParseValues()
        {
            var (open, openLiteral) = Consume();
            if (open != Token.Open)
            {
                throw new FormatException($"found '{openLiteral}' expected: '('");
            }
            var (token, literal) = Lookahead();
            switch (token)
            {
                case Token.Identifier or Token.Comma:
                    var values = ParseIdentifiers();
                    if (Consume() is var (close, closeLiteral) && close != Token.Close)
                    {
                        throw new FormatException($"found '{closeLiteral}', expected: ')'");
                    }
                    return values;
                case Token.Close:
                    Consume();
                    return [string.Empty]; // "()" is the empty value, as upstream
                default:
                    throw new FormatException($"found '{literal}', expected: ',', ')' or identifier");
            }
        }

        private List<string> ParseIdentifiers()
        {
            var values = new List<string>();
            void Add(string value)
            {
                if (!values.Contains(value))
                {
                    values.Add(value);
                }
            }
            while (true)
            {
                var (token, literal) = Consume();
                switch (token)
                {
                    case Token.Identifier:
                        Add(literal);
                        var (then, thenLiteral) = Lookahead();
                        if (then == Token.Close)
                        {
                            return values;
                        }
                        if (then != Token.Comma)
                        {
                            throw new FormatException($"found '{thenLiteral}', expected: ',' or ')'");
                        }
                        break;
                    case Token.Comma:
                        if (values.Count == 0)
                        {
                            Add(string.Empty); // "(,"
                        }
                        var following = Lookahead().Token;
                        if (following == Token.Close)
                        {
                            Add(string.Empty); // ",)"
                            return values;
                        }
                        if (following == Token.Comma)
                        {
                            Consume();
                            Add(string.Empty); // ",,"
                        }
                        break;
                    default:
                        throw new FormatException($"found '{literal}', expected: ',', or identifier");
                }
            }
        }

        private string ParseExactValue()
        {
            if (Lookahead().Token is Token.End or Token.Comma)
            {
                return string.Empty;
            }
            var (token, literal) = Consume();
            return token == Token.Identifier ? literal : throw new FormatException($"found '{literal}', expected: identifier");
        }
    }

    /// <summary>A <c>LabelSelector</c> object, as webhooks' object and namespace selectors carry it.</summary>
    public static LabelQuery FromObject(JsonObject selector)
    {
        var requirements = new List<Requirement>();
        foreach (var (key, value) in selector["matchLabels"] as JsonObject ?? [])
        {
            requirements.Add(new Requirement(key, Operator.Equals, [value!.GetValue<string>()]));
        }
        foreach (var expression in (selector["matchExpressions"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var name = expression["operator"]?.GetValue<string>();
            var op = name switch
            {
                "In" => Operator.In,
                "NotIn" => Operator.NotIn,
                "Exists" => Operator.Exists,
                "DoesNotExist" => Operator.DoesNotExist,
                _ => throw ApiException.BadRequest($"\"{name}\" is not a valid label selector operator: In, NotIn, Exists, DoesNotExist"),
            };
            var values = (expression["values"] as JsonArray)?.Select(v => v!.GetValue<string>()).ToList() ?? [];
            requirements.Add(new Requirement(expression["key"]!.GetValue<string>(), op, values));
        }
        return new LabelQuery(requirements);
    }

    /// <summary>Splits on commas that are not inside parentheses.</summary>
    internal static IEnumerable<string> SplitTerms(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            yield break;
        }
        var depth = 0;
        var start = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            depth += selector[i] switch { '(' => 1, ')' => -1, _ => 0 };
            if (selector[i] == ',' && depth == 0)
            {
                yield return selector[start..i];
                start = i + 1;
            }
        }
        yield return selector[start..];
    }
}
