namespace IpvsOperator.Benchmarks;

/// <summary>Fills LocalCluster the way the harnesses do: items 0..count-1 taken in turn by concurrent writers.</summary>
internal static class ParallelWriters
{
    public static Task RunAsync(int count, Func<int, Task> work, int writers = 8)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await work(i);
            }
        })));
    }
}
