namespace IpvsOperator.Node;

/// <summary>A sync plan as applied to the kernel: the operations written, and those the kernel refused with its reasons.</summary>
internal sealed record AppliedPlan(int Writes, IReadOnlyList<(SyncOperation Operation, string Error)> Failed)
{
    public IEnumerable<string> Errors => Failed.Select(f => $"{f.Operation}: {f.Error}");
}
