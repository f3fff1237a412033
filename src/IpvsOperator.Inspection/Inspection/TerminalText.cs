using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using k8s;

namespace IpvsOperator.Inspection;

/// <summary>
/// What the plugin prints is written by others (node agents, the controller, anyone with write
/// rights to an IPVSNode or an Event): control and format characters are shown escaped, never sent
/// to the user's terminal, where an escape sequence could rewrite the screen or the window title and
/// a bidirectional override could reorder what is read; and a value cannot break a line, so it
/// cannot forge one of the report's lines.
/// </summary>
internal static class TerminalText
{
    /// <summary>The report's text with what a terminal would act on escaped; its own line breaks kept.</summary>
    public static string Printable(string text) => Escape(text, keepNewlines: true);

    /// <summary>A copy of an object read from the API with every string value escaped, line breaks included.</summary>
    public static T Values<T>(T value)
        where T : class
    {
        var node = JsonNode.Parse(KubernetesJson.Serialize(value));
        EscapeStrings(node);
        return KubernetesJson.Deserialize<T>(node?.ToJsonString() ?? "null");
    }

    private static void EscapeStrings(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject map:
                foreach (var (key, child) in map.ToList())
                {
                    if (child is JsonValue leaf && leaf.TryGetValue<string>(out var text))
                    {
                        map[key] = Escape(text, keepNewlines: false);
                    }
                    else
                    {
                        EscapeStrings(child);
                    }
                }
                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    if (list[i] is JsonValue leaf && leaf.TryGetValue<string>(out var text))
                    {
                        list[i] = Escape(text, keepNewlines: false);
                    }
                    else
                    {
                        EscapeStrings(list[i]);
                    }
                }
                break;
        }
    }

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
