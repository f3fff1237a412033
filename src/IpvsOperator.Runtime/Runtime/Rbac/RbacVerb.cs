namespace IpvsOperator.Runtime.Rbac;

[Flags]
public enum RbacVerb
{
    None = 0,
    Get = 1,
    List = 2,
    Watch = 4,
    Create = 8,
    Update = 16,
    Patch = 32,
    Delete = 64,

    /// <summary>get, list and watch: what an informer needs.</summary>
    Read = Get | List | Watch,
}
