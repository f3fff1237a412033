using System.Net;
using System.Net.Sockets;

namespace IpvsOperator.Dataplane.Heartbeats;

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
