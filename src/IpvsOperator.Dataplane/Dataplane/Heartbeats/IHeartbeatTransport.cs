using System.Net;

namespace IpvsOperator.Dataplane.Heartbeats;

/// <summary>Datagrams between node agents: UDP on the node network, or a test's network that can be cut.</summary>
public interface IHeartbeatTransport : IDisposable
{
    /// <summary>Where the peers send to: written on this node's presence Lease.</summary>
    IPEndPoint LocalEndPoint { get; }

    /// <summary>Sends without waiting for anything: a lost heartbeat is just a missed one.</summary>
    void Send(ReadOnlySpan<byte> packet, IPEndPoint destination);

    /// <summary>The next datagram, into <paramref name="buffer"/>; its length.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}
