namespace IpvsOperator.Readers;

/// <summary>The known name a misspelt one was most likely meant to be: a few typed characters away at most.</summary>
internal static class NearestName
{
    /// <summary>Edits (a character inserted, removed or changed) beyond which a name is not taken for a misspelling.</summary>
    public const int MaximumEdits = 3;

    public static string? Among(string typed, IEnumerable<string> known) =>
        // A length further off than the edits allowed is never near, and is not compared (a key may be long).
        known.Where(name => Math.Abs(name.Length - typed.Length) <= MaximumEdits)
            .Select(name => (Name: name, Edits: Edits(typed, name)))
            .Where(candidate => candidate.Edits <= MaximumEdits)
            .OrderBy(candidate => candidate.Edits).ThenBy(candidate => candidate.Name, StringComparer.Ordinal)
            .Select(candidate => candidate.Name).FirstOrDefault();

    /// <summary>Levenshtein distance, ignoring case: a key typed with a capital is nearest its lowercase self.</summary>
    private static int Edits(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var changed = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + changed);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
