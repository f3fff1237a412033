using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace IpvsOperator.LocalCluster;

/// <summary>
/// One change as a watcher receives it. <see cref="Json"/>, when set, is the object already
/// serialized, shared by every watcher of the change: <see cref="Item"/> is then the stored object
/// itself, to be read only (never changed or put into another JSON tree).
/// </summary>
public sealed record WatchMessage(string Type, JsonObject Item, string? Json = null);

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

    internal void Send(string type, JsonObject obj, string? json = null) => channel.Writer.TryWrite(new WatchMessage(type, obj, json));

    /// <summary>Ends the stream, as a dropped connection or a server-side timeout would.</summary>
    internal void Close() => channel.Writer.TryComplete();

    public void Dispose()
    {
        Close();
        onDispose(this);
    }
}
