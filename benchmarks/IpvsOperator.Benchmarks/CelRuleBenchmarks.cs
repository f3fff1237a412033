using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using IpvsOperator.Entities;
using IpvsOperator.LocalCluster;
using IpvsOperator.Runtime.Generation;
using k8s;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// What LocalCluster's CEL costs (issue 35): compiling a CRD's rules (once, when the CRD is stored),
/// checking a BGPPeer against them (every write), and the worst a rule can cost: two nested
/// comprehensions over 1,500 items, stopped by the per-call limit (1,000,000 element reads).
/// Run: <c>make bench BENCH='*CelRule*'</c>.
/// </summary>
[MemoryDiagnoser]
// In process: a separate build of the whole operator for the job outlasts BenchmarkDotNet's 2 min build timeout on a busy machine.
[InProcess]
[WarmupCount(2)]
[IterationCount(10)]
public class CelRuleBenchmarks
{
    private JsonObject peerSchema = null!;
    private CustomResourceRules peerRules = null!;
    private CustomResourceRules costlyRules = null!;
    private JsonObject peer = null!;
    private JsonObject costly = null!;

    [GlobalSetup]
    public void Setup()
    {
        var crd = CrdGenerator.Generate(typeof(V1Alpha1BGPPeer));
        peerSchema = JsonNode.Parse(KubernetesJson.Serialize(crd.Spec.Versions[0].Schema.OpenAPIV3Schema))!.AsObject();
        peerRules = CustomResourceRules.Compile(peerSchema)!;
        peer = JsonNode.Parse("""{"apiVersion":"ipvsoperator.io/v1alpha1","kind":"BGPPeer","metadata":{"name":"tor"},"spec":{"peerAddress":"192.0.2.254","peerASN":64500,"localASN":64512,"holdTime":"90s","keepaliveTime":"30s","port":179}}""")!.AsObject();
        costlyRules = CustomResourceRules.Compile(JsonNode.Parse("""
            {"type":"object","properties":{"spec":{"type":"object","properties":{"ports":{"type":"array","items":{"type":"integer"},
             "x-kubernetes-validations":[{"rule":"self.all(p, self.all(q, p + q > 0))"}]}}}}}
            """)!.AsObject())!;
        costly = new JsonObject { ["spec"] = new JsonObject { ["ports"] = new JsonArray([.. Enumerable.Range(1, 1500).Select(p => (JsonNode?)p)]) } };
    }

    [Benchmark(Description = "compile the BGPPeer CRD's rules")]
    public object? Compile() => CustomResourceRules.Compile(peerSchema);

    [Benchmark(Description = "check a BGPPeer (3 rules, all hold)")]
    public int CheckPeer() => peerRules.Validate(peer, null).Count;

    [Benchmark(Description = "a rule of 1,500 x 1,500 reads, stopped at the per-call limit")]
    public int CheckCostly() => costlyRules.Validate(costly, null).Count;
}
