using System.Collections.Concurrent;
using IpvsOperator.Dataplane.Probing;

namespace IpvsOperator.Tests.Dataplane.Probing;

/// <summary>Answers every probe as the test says, counting them per probe and the most in flight at once.</summary>
public sealed class ScriptedProber : IProber
{
    private int inFlight;
    public ConcurrentDictionary<Probe, int> Calls { get; } = new();
    public Func<Probe, ProbeResult> Answer { get; set; } = _ => ProbeResult.Ok(TimeSpan.FromMilliseconds(1));
    public TaskCompletionSource? Gate { get; set; }
    private int mostInFlight;

    public int MostInFlight => Volatile.Read(ref mostInFlight);

    public async Task<ProbeResult> ProbeAsync(Probe probe, CancellationToken cancellationToken)
    {
        Calls.AddOrUpdate(probe, 1, (_, n) => n + 1);
        var now = Interlocked.Increment(ref inFlight);
        InterlockedMax(ref mostInFlight, now);
        try
        {
            if (Gate is { } gate)
            {
                await gate.Task;
            }
            return Answer(probe);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    private static void InterlockedMax(ref int location, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref location)) < value && Interlocked.CompareExchange(ref location, value, seen) != seen)
        {
        }
    }
}
