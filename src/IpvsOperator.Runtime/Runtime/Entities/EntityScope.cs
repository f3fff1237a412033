namespace IpvsOperator.Runtime.Entities;

// The attributes that describe an entity for the CRD generator are named after KubeOps' own
// (KubeOps.Abstractions.Entities.Attributes), so that the entity classes read the same.
public enum EntityScope
{
    Namespaced,
    Cluster,
}
