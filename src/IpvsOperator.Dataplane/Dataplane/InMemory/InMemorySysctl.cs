namespace IpvsOperator.Dataplane.InMemory;

/// <summary>Kernel settings in memory: local mode and host tests.</summary>
public sealed class InMemorySysctl : ISysctl
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> values = new(StringComparer.Ordinal);

    public string? Read(string key) => values.GetValueOrDefault(key);

    public void Write(string key, string value) => values[key] = value;
}
