namespace IpvsOperator.Runtime.Client;

/// <summary>How long watches last and how long a silent one is trusted.</summary>
internal static class WatchTimeouts
{
    /// <summary>How long the server is asked to keep a watch open: 5 to 10 minutes, spread as client-go spreads them so that watches do not all restart at once.</summary>
    public static TimeSpan Spread() => TimeSpan.FromSeconds(300 * (1 + Random.Shared.NextDouble()));

    /// <summary>Silence beyond the watch's own timeout after which the connection is taken for dead (half-open: a peer gone without a FIN).</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(30);
}
