using System.Net;
using System.Net.Sockets;

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

/// <summary>A UDP socket bound to the node's address (never to every address of a host-network pod).</summary>
public sealed class UdpHeartbeatTransport : IHeartbeatTransport
{
    private readonly Socket socket;

    public UdpHeartbeatTransport(IPEndPoint bindTo)
    {
        socket = new Socket(bindTo.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Bind(bindTo);
        }
        catch (SocketException error)
        {
            socket.Dispose();
            throw new InvalidOperationException($"cannot listen for peer heartbeats on {bindTo} (udp): {error.Message}", error);
        }
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public void Send(ReadOnlySpan<byte> packet, IPEndPoint destination)
    {
        try
        {
            socket.SendTo(packet, SocketFlags.None, destination);
        }
        catch (SocketException)
        {
            // Unreachable, no route, a full buffer: the peer misses this one, as it would a lost packet.
        }
    }

    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            }
            catch (SocketException error) when (error.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                // An ICMP port-unreachable for an earlier send, or a datagram too large: not ours to read.
            }
        }
    }

    public void Dispose() => socket.Dispose();
}
