using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace IpvsOperator.Node.Announcement;

/// <summary>What a node agent tells its peers about itself, every retry period, over the node network.</summary>
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
/// increasing per sender so that a replayed packet is refused), and its place in the sender's
/// sequence (one more per heartbeat sent to a peer, so that the receiver counts the ones lost).
/// <see cref="Sequence"/> is null for a version 1 heartbeat, which agents released before the
/// sequence send: still accepted so that a rolling upgrade keeps hearing the agents not yet
/// replaced (their loss is not counted), and sent to a peer heard only in version 1.
/// </summary>
internal sealed record Heartbeat(string Node, PeerState State, long SentAtMilliseconds, uint? Sequence = null)
{
    private const byte Version1 = 1;
    private const byte Version2 = 2;
    private const int MacLength = 32;
    private const int MaxName = 253;

    /// <summary>version, state, sent-at (8 bytes), then in version 2 the sequence (4 bytes), then the name's length.</summary>
    private static int HeaderLength(byte version) => version == Version1 ? 11 : 15;

    /// <summary>The largest packet: a node name is at most 253 characters.</summary>
    public const int MaxLength = 15 + MaxName + MacLength;

    /// <summary>The header, the name, then an HMAC-SHA256 of all of it with the peers' shared key: the sequence is signed too.</summary>
    public byte[] Encode(byte[] key)
    {
        var name = Encoding.ASCII.GetBytes(Node);
        if (name.Length > MaxName)
        {
            throw new ArgumentException($"node name {Node} is longer than {MaxName} characters");
        }
        var version = Sequence is null ? Version1 : Version2;
        var header = HeaderLength(version);
        var packet = new byte[header + name.Length + MacLength];
        packet[0] = version;
        packet[1] = (byte)State;
        BinaryPrimitives.WriteInt64BigEndian(packet.AsSpan(2), SentAtMilliseconds);
        if (Sequence is { } sequence)
        {
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(10), sequence);
        }
        packet[header - 1] = (byte)name.Length;
        name.CopyTo(packet, header);
        HMACSHA256.HashData(key, packet.AsSpan(0, header + name.Length), packet.AsSpan(header + name.Length));
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
        // The version picks the layout; an unknown one is refused after the signature check below.
        var version = packet[0] == Version1 ? Version1 : Version2;
        var header = HeaderLength(version);
        if (packet.Length < header + 1 + MacLength || packet.Length != header + packet[header - 1] + MacLength)
        {
            why = "its name length does not match its size";
            return null;
        }
        var signed = packet.Length - MacLength;
        Span<byte> mac = stackalloc byte[MacLength];
        HMACSHA256.HashData(key, packet[..signed], mac);
        // Checked first, in constant time: nothing unsigned is looked at further.
        if (!CryptographicOperations.FixedTimeEquals(mac, packet[signed..]))
        {
            why = "not signed with the peers' key";
            return null;
        }
        if (packet[0] is not (Version1 or Version2) || packet[1] is < (byte)PeerState.Renewing or > (byte)PeerState.Withdrawn)
        {
            why = $"version {packet[0]} or state {packet[1]} unknown";
            return null;
        }
        uint? sequence = version == Version2 ? BinaryPrimitives.ReadUInt32BigEndian(packet[10..]) : null;
        return new Heartbeat(Encoding.ASCII.GetString(packet[header..signed]), (PeerState)packet[1], BinaryPrimitives.ReadInt64BigEndian(packet[2..]), sequence);
    }
}
