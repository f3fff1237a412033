namespace IpvsOperator.Runtime.Controllers;

/// <summary>Figures a runner reports, for metrics and tests.</summary>
public interface IControllerStatistics
{
    string Name { get; }
    int QueueDepth { get; }
    long Reconciles { get; }
    long Failures { get; }
}
