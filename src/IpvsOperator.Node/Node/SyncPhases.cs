namespace IpvsOperator.Node;

/// <summary>Where one sync's time went, phase by phase (see <see cref="SyncReport"/>).</summary>
public sealed record SyncPhases(TimeSpan ReadBack, TimeSpan Desired, TimeSpan Apply, TimeSpan SourceNat)
{
    public override string ToString() =>
        $"read back {ReadBack.TotalSeconds:F2} s, desired {Desired.TotalSeconds:F2} s, apply {Apply.TotalSeconds:F2} s, source NAT {SourceNat.TotalSeconds:F2} s";
}
