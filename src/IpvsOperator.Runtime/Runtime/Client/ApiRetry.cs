using IpvsOperator.Runtime.Resilience;
using Polly;

namespace IpvsOperator.Runtime.Client;

/// <summary>The retry policy of API calls.</summary>
internal static class ApiRetry
{
    /// <summary>Retries transient API failures: up to 5 attempts, waiting by <see cref="Backoff.ApiCall"/>.</summary>
    public static ResiliencePipeline Transient(int attempts = 5) => Backoff.ApiCall.RetryPipeline(attempts, new PredicateBuilder()
        .Handle<ApiStatusException>(e => e.IsTransient)
        .Handle<HttpRequestException>()
        .Handle<TimeoutException>());
}
