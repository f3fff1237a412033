using System.Globalization;
using System.Text;

namespace IpvsOperator.Runtime.Text;

/// <summary>
/// What a command-line verb prints is often written by others (an IPVSNode or an Event for the
/// plugin, a MetalLB object for the migration): control characters are shown escaped, never sent to
/// the user's terminal, where an escape sequence could rewrite the screen or the window title.
/// </summary>
public static class TerminalText
{
    public static string Printable(string text)
    {
        if (!text.Any(c => char.IsControl(c) && c != '\n'))
        {
            return text;
        }
        var printable = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            printable.Append(char.IsControl(c) && c != '\n' ? string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}") : c);
        }
        return printable.ToString();
    }
}
