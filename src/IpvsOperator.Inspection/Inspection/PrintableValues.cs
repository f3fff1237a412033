using System.Text.Json.Nodes;
using IpvsOperator.Runtime.Text;
using k8s;

namespace IpvsOperator.Inspection;

/// <summary>Objects read from the API with every string value escaped for a terminal (<see cref="TerminalText.Value"/>), before a view prints any of them.</summary>
internal static class PrintableValues
{
    public static T Of<T>(T value)
        where T : class
    {
        var node = JsonNode.Parse(KubernetesJson.Serialize(value));
        Escape(node);
        return KubernetesJson.Deserialize<T>(node?.ToJsonString() ?? "null");
    }

    private static void Escape(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject map:
                foreach (var (key, child) in map.ToList())
                {
                    if (child is JsonValue leaf && leaf.TryGetValue<string>(out var text))
                    {
                        map[key] = TerminalText.Value(text);
                    }
                    else
                    {
                        Escape(child);
                    }
                }
                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    if (list[i] is JsonValue leaf && leaf.TryGetValue<string>(out var text))
                    {
                        list[i] = TerminalText.Value(text);
                    }
                    else
                    {
                        Escape(list[i]);
                    }
                }
                break;
        }
    }
}
