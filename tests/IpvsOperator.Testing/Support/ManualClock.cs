namespace IpvsOperator.Tests.Support;

/// <summary>A clock that moves only when the test moves it (no timers: code under test that waits uses its own).</summary>
public sealed class ManualClock : TimeProvider
{
    public DateTimeOffset Now { get; set; } = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;
}
