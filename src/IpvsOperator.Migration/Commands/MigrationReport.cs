using IpvsOperator.Migration;

namespace IpvsOperator.Commands;

/// <summary>The findings of a migration as the user reads them on stderr: changes first, then actions, then notes, each naming the object's file and document.</summary>
internal static class MigrationReport
{
    public static void Write(MigrationResult result, TextWriter writer)
    {
        writer.WriteLine($"translated {result.Pools.Count} IPPool(s), {result.Peers.Count} BGPPeer(s), {result.Secrets.Count} Secret(s) (for --apply only: the YAML holds none){(result.Claims.Count > 0 ? $", {result.Claims.Count} IPAllocation(s) for the addresses of the Services" : string.Empty)}");
        foreach (var finding in result.Findings.OrderByDescending(f => f.Kind))
        {
            writer.WriteLine(finding);
        }
    }
}
