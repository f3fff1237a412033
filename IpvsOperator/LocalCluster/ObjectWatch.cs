using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace IpvsOperator.LocalCluster;

/// <summary>One change as a watcher receives it.</summary>
public sealed record WatchMessage(string Type, JsonObject Item);

/// <summary>A stream of changes to one resource type, filtered by namespace and selectors.</summary>
public sealed class ObjectWatch : IDisposable
{
    private readonly Channel<WatchMessage> channel = Channel.CreateUnbounded<WatchMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Action<ObjectWatch> onDispose;

    internal ObjectWatch(string resourceKey, string? ns, ObjectFilter filter, Action<ObjectWatch> onDispose)
    {
        ResourceKey = resourceKey;
        Namespace = ns;
        Filter = filter;
        this.onDispose = onDispose;
    }

    internal string ResourceKey { get; }
    internal string? Namespace { get; }
    internal ObjectFilter Filter { get; }

    public ChannelReader<WatchMessage> Messages => channel.Reader;

    internal bool Covers(JsonObject obj) =>
        (Namespace is null || ObjectStorage.NamespaceOf(obj) == Namespace) && Filter.Matches(obj);

    internal void Send(string type, JsonObject obj) => channel.Writer.TryWrite(new WatchMessage(type, obj));

    /// <summary>Ends the stream, as a dropped connection or a server-side timeout would.</summary>
    internal void Close() => channel.Writer.TryComplete();

    public void Dispose()
    {
        Close();
        onDispose(this);
    }
}
