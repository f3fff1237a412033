namespace IpvsOperator.Runtime.Controllers;

/// <summary>A controller as the runtime runs it, whatever its entity type.</summary>
public interface IRunnableController : IControllerStatistics, IDisposable
{
    Task RunAsync(CancellationToken cancellationToken);

    /// <summary>Completes once the informer has listed every object.</summary>
    Task WaitForSyncAsync(CancellationToken cancellationToken);
}
