using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace IpvsOperator.Node.Announcement;

/// <summary>What a node agent tells its peers about itself, twice a second, over the node network.</summary>
internal enum PeerState : byte
{
    /// <summary>It renews its presence: the API server answers it.</summary>
    Renewing = 1,

    /// <summary>It cannot reach the API server and keeps announcing what it held, because every peer says the same.</summary>
    Keeping = 2,

    /// <summary>It cannot reach the API server and announces nothing.</summary>
    Withdrawn = 3,
}

/// <summary>
/// One heartbeat: who sends it, its state, and when (the sender's clock, in milliseconds, strictly
/// increasing per sender so that a replayed packet is refused).
/// </summary>
internal sealed record Heartbeat(string Node, PeerState State, long SentAtMilliseconds)
{
    private const byte Version = 1;
    private const int MacLength = 32;

    /// <summary>The largest packet: a node name is at most 253 characters.</summary>
    public const int MaxLength = 1 + 1 + 8 + 1 + 253 + MacLength;

    /// <summary>version, state, sent-at, name length, name, then an HMAC-SHA256 of all of it with the peers' shared key.</summary>
    public byte[] Encode(byte[] key)
    {
        var name = Encoding.ASCII.GetBytes(Node);
        if (name.Length > 253)
        {
            throw new ArgumentException($"node name {Node} is longer than 253 characters");
        }
        var packet = new byte[11 + name.Length + MacLength];
        packet[0] = Version;
        packet[1] = (byte)State;
        BinaryPrimitives.WriteInt64BigEndian(packet.AsSpan(2), SentAtMilliseconds);
        packet[10] = (byte)name.Length;
        name.CopyTo(packet, 11);
        HMACSHA256.HashData(key, packet.AsSpan(0, 11 + name.Length), packet.AsSpan(11 + name.Length));
        return packet;
    }

    /// <summary>The heartbeat in <paramref name="packet"/>, or null (with why) when it is malformed or not signed with <paramref name="key"/>.</summary>
    public static Heartbeat? Decode(ReadOnlySpan<byte> packet, byte[] key, out string? why)
    {
        why = null;
        if (packet.Length < 11 + 1 + MacLength || packet.Length > MaxLength)
        {
            why = $"{packet.Length} bytes, not a heartbeat's length";
            return null;
        }
        var nameLength = packet[10];
        if (packet.Length != 11 + nameLength + MacLength)
        {
            why = "its name length does not match its size";
            return null;
        }
        Span<byte> mac = stackalloc byte[MacLength];
        HMACSHA256.HashData(key, packet[..(11 + nameLength)], mac);
        // Checked first, in constant time: nothing unsigned is looked at further.
        if (!CryptographicOperations.FixedTimeEquals(mac, packet[(11 + nameLength)..]))
        {
            why = "not signed with the peers' key";
            return null;
        }
        if (packet[0] != Version || packet[1] is < (byte)PeerState.Renewing or > (byte)PeerState.Withdrawn)
        {
            why = $"version {packet[0]} or state {packet[1]} unknown";
            return null;
        }
        return new Heartbeat(Encoding.ASCII.GetString(packet.Slice(11, nameLength)), (PeerState)packet[1], BinaryPrimitives.ReadInt64BigEndian(packet[2..]));
    }
}
