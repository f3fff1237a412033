namespace IpvsOperator.Runtime.Controllers;

/// <summary>Figures a runner reports, for metrics and tests.</summary>
public interface IControllerStatistics
{
    string Name { get; }
    int QueueDepth { get; }
    long Reconciles { get; }
    long Failures { get; }

    /// <summary>Objects copied out of the informer's cache by whole-cache reads, by the controllers and whoever shares the cache.</summary>
    long CacheItemsCopied { get; }
}
