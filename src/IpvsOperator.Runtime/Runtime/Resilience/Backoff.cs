using Polly;
using Polly.Retry;

namespace IpvsOperator.Runtime.Resilience;

/// <summary>
/// The operator's one retry policy: the wait after the n-th failure in a row is
/// <see cref="First"/> × 2^(n-1), capped at <see cref="Max"/>, spread by ±<see cref="Jitter"/> so
/// that many retrying loops do not hit the API server in step. API calls retry through Polly with
/// it; the work queue, the informers' watches and the node agent's sync loop wait by it.
/// </summary>
public sealed record Backoff(TimeSpan First, TimeSpan Max, double Jitter = 0.5)
{
    /// <summary>A transient API failure (5xx, 429, network): retried within the call, a few times.</summary>
    public static readonly Backoff ApiCall = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));

    /// <summary>A watch that failed: listed or watched again.</summary>
    public static readonly Backoff Watch = new(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));

    /// <summary>A reconcile that failed: the object is looked at again.</summary>
    public static readonly Backoff Reconcile = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(60));

    /// <summary>A node sync that failed as a whole: no jitter, since each node retries only its own kernel.</summary>
    public static readonly Backoff NodeSync = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30), Jitter: 0);

    /// <summary>How long to wait after <paramref name="failures"/> failures in a row (at least 1).</summary>
    public TimeSpan Delay(int failures, Random? random = null)
    {
        var exponential = Math.Min(Max.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures - 1, 0, 30)));
        var spread = Jitter == 0 ? 1 : 1 - Jitter + 2 * Jitter * (random ?? Random.Shared).NextDouble();
        return TimeSpan.FromMilliseconds(exponential * spread);
    }

    /// <summary>A Polly pipeline that makes up to <paramref name="attempts"/> attempts, waiting by this backoff between them.</summary>
    public ResiliencePipeline RetryPipeline(int attempts, PredicateBuilder<object> handle) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = attempts - 1,
            ShouldHandle = handle,
            DelayGenerator = arguments => ValueTask.FromResult<TimeSpan?>(Delay(arguments.AttemptNumber + 1)),
        })
        .Build();
}
