namespace IpvsOperator.Dataplane;

internal static class IpvsExtensions
{
    /// <summary>
    /// Removes exactly the given services (and their destinations), ignoring those already gone.
    /// Never IPVS_CMD_FLUSH: that would take kube-proxy's and everyone else's services too.
    /// </summary>
    public static int Flush(this IIpvs ipvs, IEnumerable<VirtualServiceKey> keys)
    {
        var removed = 0;
        foreach (var key in keys)
        {
            try
            {
                ipvs.DeleteService(key);
                removed++;
            }
            catch (DataplaneException gone) when (gone.NotFound)
            {
                // Already gone: nothing to flush.
            }
        }
        return removed;
    }
}
