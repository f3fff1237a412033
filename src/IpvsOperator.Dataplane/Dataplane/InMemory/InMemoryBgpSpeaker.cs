using System.Collections.Concurrent;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane.Bgp;

namespace IpvsOperator.Dataplane.InMemory;

/// <summary>
/// The BGP speaker of local mode and host tests: it keeps the configuration it was given and reports
/// a session per configured neighbor, Established and advertising every network of the neighbor's
/// family, unless a test made that peer refuse (<see cref="Refuse"/>). The contract tests hold it to
/// FRR's behaviour.
/// </summary>
public sealed class InMemoryBgpSpeaker : IBgpSpeaker
{
    private readonly ConcurrentDictionary<IPAddressValue, string> refused = new();
    private readonly Lock gate = new();
    private string? configuration;

    /// <summary>The configuration held now (null: never given one).</summary>
    public string? Configuration
    {
        get
        {
            lock (gate)
            {
                return configuration;
            }
        }
    }

    /// <summary>Applies that changed something.</summary>
    public int Applies { get; private set; }

    /// <summary>Times the sessions were read.</summary>
    public int Reads => Volatile.Read(ref reads);

    private int reads;

    /// <summary>When set, every call fails with it, as when FRR's sockets cannot be reached.</summary>
    public Exception? Failure { get; set; }

    /// <summary>When set, reading the sessions fails with it (applying still works), as when bgpd alone is down.</summary>
    public Exception? ReadFailure { get; set; }

    /// <summary>
    /// When set, every apply takes the configuration and then fails with it, as reloads that run past
    /// their time bound on a loaded node: FRR holds the new text, the caller hears a failure each time.
    /// </summary>
    public Exception? ApplyFailure { get; set; }

    /// <summary>Makes the session with <paramref name="peer"/> stay down, with the reason the daemon would give.</summary>
    public void Refuse(IPAddressValue peer, string reason) => refused[peer] = reason;

    public void Accept(IPAddressValue peer) => refused.TryRemove(peer, out _);

    /// <summary>The prefixes the configuration sends to its peers: its network statements, none while withdrawn.</summary>
    public IReadOnlyList<string> Networks
    {
        get
        {
            lock (gate)
            {
                return Advertised();
            }
        }
    }

    /// <summary>Whether the peers are sent nothing (the withdrawal map is on).</summary>
    private bool Withdrawn => Lines().Any(l => l.EndsWith($"route-map {FrrConfiguration.WithdrawMap} out", StringComparison.Ordinal));

    public bool Apply(string configuration)
    {
        if (Failure is { } failure)
        {
            throw failure;
        }
        bool changed;
        lock (gate)
        {
            changed = configuration != this.configuration;
            if (changed)
            {
                this.configuration = configuration;
                Applies++;
            }
        }
        if (ApplyFailure is { } late)
        {
            throw late;
        }
        return changed;
    }

    public IReadOnlyList<BgpSessionState> ReadSessions()
    {
        Interlocked.Increment(ref reads);
        if ((Failure ?? ReadFailure) is { } failure)
        {
            throw failure;
        }
        lock (gate)
        {
            var lines = Lines().ToList();
            var networks = Advertised();
            return [.. lines
                .Where(l => l.StartsWith("neighbor ", StringComparison.Ordinal) && l.Contains(" remote-as ", StringComparison.Ordinal))
                .Select(l => IPAddressValue.Parse(l.Split(' ')[1]))
                .Select(peer => refused.TryGetValue(peer, out var reason)
                    ? new BgpSessionState(peer, "Active", 0, 0, null, reason)
                    : new BgpSessionState(peer, BgpSessionState.Established,
                        networks.Count(n => n.Contains(':', StringComparison.Ordinal) == (peer.Family == IPFamily.IPv6)), 0, null, null))];
        }
    }

    /// <summary>The prefixes of the network statements, none while withdrawn; under the gate.</summary>
    private List<string> Advertised() =>
        Withdrawn ? [] : [.. Lines().Where(l => l.StartsWith("network ", StringComparison.Ordinal)).Select(l => l.Split(' ')[1])];

    private IEnumerable<string> Lines() => (configuration ?? string.Empty).Split('\n').Select(l => l.Trim());
}
