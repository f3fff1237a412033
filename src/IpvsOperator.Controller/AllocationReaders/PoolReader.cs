using IpvsOperator.Entities;
using IpvsOperator.Ipam;
using IpvsOperator.Readers;
using k8s.Models;

namespace IpvsOperator.AllocationReaders;

/// <summary>Reads an IPPool object as the allocator sees it. Pure: no I/O.</summary>
public static class PoolReader
{
    /// <summary>The pool as the allocator sees it, or the errors that make it unusable.</summary>
    public static PoolParseResult Read(V1Alpha1IPPool pool)
    {
        var spec = pool.Spec ?? new IPPoolSpec();
        var allocation = spec.ServiceAllocation;
        var scope = allocation is null ? null : new ServiceScope(
            allocation.Namespaces is { Count: > 0 } namespaces ? namespaces.ToHashSet() : null,
            LabelSelectorReader.Read(allocation.NamespaceSelector),
            LabelSelectorReader.Read(allocation.ServiceSelector));
        return Pool.Parse(pool.Metadata?.Name ?? string.Empty, spec.Addresses ?? [], spec.AutoAssign, spec.AvoidBuggyIPs, spec.Priority, scope);
    }
}
