using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace IpvsOperator.Migration;

/// <summary>A YAML parser that counts the documents it has begun, so that an error names the document it is in.</summary>
internal sealed class DocumentCountingParser(IParser inner) : IParser
{
    public int Documents { get; private set; }

    public ParsingEvent? Current => inner.Current;

    public bool MoveNext()
    {
        var moved = inner.MoveNext();
        if (moved && inner.Current is DocumentStart)
        {
            Documents++;
        }
        return moved;
    }
}
