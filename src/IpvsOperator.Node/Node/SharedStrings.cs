namespace IpvsOperator.Node;

/// <summary>
/// One copy of each short text that many cached objects repeat (a namespace, a node name, a port
/// name, "TCP"): at 10,000 Services the watches decode each of them tens of thousands of times.
/// Bounded, since the objects are untrusted: past <see cref="Capacity"/> distinct texts, or for
/// a text longer than <see cref="MaxLength"/>, the object keeps its own copy, which costs only
/// memory, never a different value. Thread-safe: every watch shares it.
/// </summary>
internal sealed class SharedStrings
{
    public const int Capacity = 4_096;
    public const int MaxLength = 64;

    private readonly Lock gate = new();
    private readonly HashSet<string> pool = new(StringComparer.Ordinal);

    /// <summary>Distinct texts held.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return pool.Count;
            }
        }
    }

    /// <summary>The shared copy of <paramref name="text"/> (equal to it), or the text itself.</summary>
    public string? Share(string? text)
    {
        if (text is null || text.Length > MaxLength)
        {
            return text;
        }
        lock (gate)
        {
            if (pool.TryGetValue(text, out var shared))
            {
                return shared;
            }
            if (pool.Count < Capacity)
            {
                pool.Add(text);
            }
            return text;
        }
    }

    /// <summary>Each item of a list of texts shared in place, and the list's spare room given back.</summary>
    public void ShareAll(IList<string>? texts)
    {
        if (texts is null)
        {
            return;
        }
        for (var i = 0; i < texts.Count; i++)
        {
            texts[i] = Share(texts[i])!;
        }
        (texts as List<string>)?.TrimExcess();
    }
}
