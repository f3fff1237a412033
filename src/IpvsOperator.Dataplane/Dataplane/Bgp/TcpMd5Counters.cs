using System.Globalization;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// The kernel's count of TCP segments it dropped for their MD5 signature (RFC 2385), from the
/// <c>TcpExt</c> lines of <c>/proc/net/netstat</c>: signed with another key (<c>TCPMD5Failure</c>),
/// unsigned where a key is set (<c>TCPMD5NotFound</c>), signed where none is (<c>TCPMD5Unexpected</c>).
/// A wrong BGP password shows nowhere else: neither side's BGP ever sees a segment.
/// </summary>
internal readonly record struct TcpMd5Counters(long NotFound, long Unexpected, long Failure)
{
    /// <summary>The counters in <paramref name="netstat"/>; null when its kernel has none of them.</summary>
    public static TcpMd5Counters? Parse(string netstat)
    {
        var lines = netstat.Split('\n');
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (!lines[i].StartsWith("TcpExt:", StringComparison.Ordinal) || !lines[i + 1].StartsWith("TcpExt:", StringComparison.Ordinal))
            {
                continue;
            }
            var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long? Value(string name)
            {
                var index = Array.IndexOf(names, name);
                return index > 0 && index < values.Length && long.TryParse(values[index], NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
            }
            return Value("TCPMD5NotFound") is { } notFound && Value("TCPMD5Unexpected") is { } unexpected && Value("TCPMD5Failure") is { } failure
                ? new TcpMd5Counters(notFound, unexpected, failure)
                : null;
        }
        return null;
    }

    /// <summary>The counters of the network namespace <paramref name="path"/> belongs to; null when it cannot be read.</summary>
    public static TcpMd5Counters? Read(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public TcpMd5Counters Since(TcpMd5Counters earlier) =>
        new(NotFound - earlier.NotFound, Unexpected - earlier.Unexpected, Failure - earlier.Failure);
}
