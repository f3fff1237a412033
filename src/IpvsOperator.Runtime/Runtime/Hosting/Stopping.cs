namespace IpvsOperator.Runtime.Hosting;

/// <summary>How a component's process ends.</summary>
public static class Stopping
{
    /// <summary>How long a component may take to stop cleanly after SIGTERM or Ctrl-C (the DaemonSet's and Deployment's grace period is 30 s).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
}
