using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace IpvsOperator.Migration;

/// <summary>
/// A YAML parser that refuses a document whose aliases would expand past <see cref="MaximumNodes"/>
/// nodes. Aliases are cheap to write and the translation copies what they point at: nine levels of
/// ten aliases each (700 bytes) would be a billion nodes. Counted as the events arrive, before any
/// expansion: a node counts one, an alias counts the size of its anchor's node.
/// </summary>
internal sealed class ExpansionLimitingParser(DocumentCountingParser inner, string file) : IParser
{
    /// <summary>Far above any MetalLB configuration (a pool or peer is tens of nodes), far below what takes seconds to copy.</summary>
    public const long MaximumNodes = 100_000;

    private readonly Dictionary<string, long> anchorSizes = new(StringComparer.Ordinal);
    private readonly Stack<(string? Anchor, long Start)> open = new();
    private long nodes;

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        if (!inner.MoveNext())
        {
            return false;
        }
        switch (inner.Current)
        {
            case DocumentStart:
                nodes = 0;
                anchorSizes.Clear(); // anchors do not cross documents
                break;
            case AnchorAlias alias:
                Count(anchorSizes.TryGetValue(alias.Value.Value, out var size) ? size : 1);
                break;
            case Scalar scalar:
                Count(1);
                if (!scalar.Anchor.IsEmpty)
                {
                    anchorSizes[scalar.Anchor.Value] = 1;
                }
                break;
            case SequenceStart or MappingStart:
                var node = (NodeEvent)inner.Current;
                open.Push((node.Anchor.IsEmpty ? null : node.Anchor.Value, nodes));
                Count(1);
                break;
            case SequenceEnd or MappingEnd:
                var (anchor, start) = open.Pop();
                if (anchor is not null)
                {
                    anchorSizes[anchor] = nodes - start;
                }
                break;
        }
        return true;
    }

    private void Count(long added)
    {
        nodes += added;
        if (nodes > MaximumNodes)
        {
            throw new MetalLBInputException($"{file} document {Math.Max(1, inner.Documents)}: its aliases expand to more than {MaximumNodes:N0} nodes; refused (a MetalLB configuration needs far fewer)");
        }
    }
}
