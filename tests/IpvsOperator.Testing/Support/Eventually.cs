namespace IpvsOperator.Tests.Support;

/// <summary>
/// Polls a condition until it holds or a generous timeout passes: never a fixed sleep. Every timeout
/// is multiplied by IPVSOP_TEST_TIME_SCALE (default 1): the kernel VM runs under emulation, 5 to 25
/// times slower, and a busy CI machine is slower too. A timeout says "this should have happened by
/// now", never how fast it happens: speed is for the benchmarks.
/// </summary>
public static class Eventually
{
    public static readonly double Scale = double.TryParse(Environment.GetEnvironmentVariable("IPVSOP_TEST_TIME_SCALE"), System.Globalization.CultureInfo.InvariantCulture, out var scale) && scale >= 1 ? scale : 1;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    public static Task TrueAsync(Func<Task<bool>> condition, string because, TimeSpan? timeout = null) =>
        TrueAsync(condition, () => because, timeout);

    /// <summary>As above, with the reason computed at the time of failure (to show the last state seen).</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, Func<string> because, TimeSpan? timeout = null)
    {
        var limit = (timeout ?? DefaultTimeout) * Scale;
        var deadline = DateTime.UtcNow + limit;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception error) when (error is not AssertionException)
            {
                last = error;
            }
            await Task.Delay(20);
        }
        Assert.Fail($"timed out after {limit.TotalSeconds}s waiting until {because()}" + (last is null ? string.Empty : $"; last error: {last.Message}"));
    }

    public static Task TrueAsync(Func<bool> condition, string because, TimeSpan? timeout = null) =>
        TrueAsync(() => Task.FromResult(condition()), because, timeout);

    public static Task TrueAsync(Func<bool> condition, Func<string> because, TimeSpan? timeout = null) =>
        TrueAsync(() => Task.FromResult(condition()), because, timeout);
}
