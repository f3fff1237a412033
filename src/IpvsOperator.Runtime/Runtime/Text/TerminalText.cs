using System.Globalization;
using System.Text;

namespace IpvsOperator.Runtime.Text;

/// <summary>
/// What a command-line verb prints is often written by others (an IPVSNode or an Event for the
/// plugin, a MetalLB object for the migration): control and format characters are shown escaped,
/// never sent to the user's terminal, where an escape sequence could rewrite the screen or the
/// window title and a bidirectional override could reorder what is read.
/// </summary>
public static class TerminalText
{
    /// <summary>A report's text with what a terminal would act on escaped; its own line breaks kept.</summary>
    public static string Printable(string text) => Escape(text, keepNewlines: true);

    /// <summary>One value written by others, escaped line breaks included, so that it cannot forge a line of the report.</summary>
    public static string Value(string text) => Escape(text, keepNewlines: false);

    private static string Escape(string text, bool keepNewlines)
    {
        bool Unsafe(char c) => (char.IsControl(c) && !(keepNewlines && c == '\n')) || char.GetUnicodeCategory(c) == UnicodeCategory.Format;
        if (!text.Any(Unsafe))
        {
            return text;
        }
        var printable = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            printable.Append(Unsafe(c) ? string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}") : c);
        }
        return printable.ToString();
    }
}
