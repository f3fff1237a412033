namespace IpvsOperator.Runtime.Text;

/// <summary>
/// A value as a message quotes it: whole when short, else its first 100 characters. An annotation
/// may hold 256 KiB, and a message goes into a denial, an Event and a log line.
/// </summary>
public static class QuotedValue
{
    public const int MaximumLength = 100;

    public static string Of(string? text)
    {
        if (text is null || text.Length <= MaximumLength)
        {
            return text ?? string.Empty;
        }
        // Never half of a surrogate pair: the message must stay valid UTF-16 for JSON.
        var kept = char.IsHighSurrogate(text[MaximumLength - 1]) ? MaximumLength - 1 : MaximumLength;
        return string.Concat(text.AsSpan(0, kept), "…");
    }
}
