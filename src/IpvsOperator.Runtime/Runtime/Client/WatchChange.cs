namespace IpvsOperator.Runtime.Client;

/// <summary>
/// What a watch event says happened (its <c>type</c>). Our own, not the client's
/// <c>k8s.WatchEventType</c>: <c>KubernetesClient.Aot</c>, which a Native AOT build uses, has none.
/// </summary>
public enum WatchChange
{
    Added,
    Modified,
    Deleted,
    Bookmark,
}
