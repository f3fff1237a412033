namespace IpvsOperator.Benchmarks;

internal static class Percentiles
{
    /// <summary>The p-quantile of a sorted list (nearest rank).</summary>
    public static double Of(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
