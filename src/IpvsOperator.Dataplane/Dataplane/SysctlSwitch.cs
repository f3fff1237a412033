using Microsoft.Extensions.Logging;

namespace IpvsOperator.Dataplane;

/// <summary>A kernel setting the agent turns on: written only when it does not already read 1, and said when it is.</summary>
internal static class SysctlSwitch
{
    /// <returns>The writes made: 0 or 1.</returns>
    public static int TurnOn(ISysctl sysctl, string key, ILogger logger)
    {
        if (sysctl.Read(key) == "1")
        {
            return 0;
        }
        sysctl.Write(key, "1");
        logger.LogInformation("set {Setting}=1", key.Replace('/', '.'));
        return 1;
    }
}
