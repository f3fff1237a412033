namespace IpvsOperator.Ipam;

public sealed record PoolParseResult(Pool? Pool, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Pool is not null;
}
