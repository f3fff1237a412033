using System.Text.Json.Nodes;
using IpvsOperator.LocalCluster;

namespace IpvsOperator.Tests.LocalCluster;

/// <summary>
/// A write's work grows with the length of the object's lists, not with its square (issue 33: a
/// merge patch of a 3,000-port Service took about 4 minutes, a strategic merge patch of 4,000 ports
/// 15 s). Counted in bytes allocated on this thread, which follow the work done and not the
/// machine's load: doubling the list may at most about double them (a quadratic step quadruples them).
/// The times are in docs/benchmarks.md (issue 33).
/// </summary>
public class ListLengthCostTests
{
    private const int Ports = 400;

    private static JsonObject Service(int ports, int targetOffset) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = new JsonObject { ["name"] = "many", ["namespace"] = "default", ["resourceVersion"] = "1" },
        ["spec"] = new JsonObject
        {
            ["type"] = "NodePort",
            ["ports"] = PortList(ports, targetOffset, nodePorts: true),
        },
    };

    private static JsonArray PortList(int ports, int targetOffset, bool nodePorts = false) => new([.. Enumerable.Range(0, ports).Select(i =>
    {
        var port = new JsonObject { ["name"] = $"p{i}", ["port"] = 1000 + i, ["protocol"] = "TCP", ["targetPort"] = targetOffset + i };
        if (nodePorts)
        {
            port["nodePort"] = 30000 + i;
        }
        return (JsonNode)port;
    })]);

    private static long Allocated(Action write)
    {
        write(); // once to warm up: the JIT's own allocations are not the write's
        var before = GC.GetAllocatedBytesForCurrentThread();
        write();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void GrowsLinearly(string what, Func<int, Action> writeOf)
    {
        var single = Allocated(writeOf(Ports));
        var twice = Allocated(writeOf(2 * Ports));
        ((double)twice / single).Should().BeLessThan(2.6, $"{what}: {Ports} ports allocated {single:N0} bytes, {2 * Ports} ports {twice:N0}");
    }

    [Test]
    public void A_merge_patch_of_every_port_with_its_defaults_and_managed_fields_grows_linearly() =>
        GrowsLinearly("merge patch", ports => () =>
        {
            var existing = Service(ports, 2000);
            new FieldManagement(TimeProvider.System).RecordUpdate(ResourceRegistry.Services, null, existing, "creator", null);
            var patch = new JsonObject { ["spec"] = new JsonObject { ["ports"] = PortList(ports, 5000) } };
            var updated = (JsonObject)Patches.MergePatch(existing, patch)!;
            ServiceDefaults.ApplyOnUpdate(updated, existing);
            new FieldManagement(TimeProvider.System).RecordUpdate(ResourceRegistry.Services, existing, updated, "patcher", null);
        });

    [Test]
    public void A_strategic_merge_patch_of_every_port_with_its_managed_fields_grows_linearly() =>
        GrowsLinearly("strategic merge patch", ports => () =>
        {
            var existing = Service(ports, 2000);
            var patch = new JsonObject
            {
                ["spec"] = new JsonObject { ["ports"] = PortList(ports, 5000), ["$setElementOrder/ports"] = new JsonArray([.. Enumerable.Range(0, ports).Select(i => (JsonNode)new JsonObject { ["port"] = 1000 + i })]) },
            };
            var updated = (JsonObject)Patches.StrategicMergePatch(existing, patch, ResourceRegistry.Services.MergeKeys)!;
            new FieldManagement(TimeProvider.System).RecordUpdate(ResourceRegistry.Services, existing, updated, "patcher", null);
        });

    [Test]
    public void A_server_side_apply_that_drops_every_port_another_manager_shares_grows_linearly() =>
        GrowsLinearly("server-side apply", ports => () =>
        {
            var fields = new FieldManagement(TimeProvider.System);
            var live = fields.ApplyTo(ResourceRegistry.Services, null, Service(ports, 2000), "applier", force: false, null);
            live = fields.ApplyTo(ResourceRegistry.Services, live, Service(ports, 2000), "other", force: true, null);
            var fewer = Service(ports, 2000);
            fewer["spec"]!["ports"] = PortList(1, 2000);
            fields.ApplyTo(ResourceRegistry.Services, live, fewer, "applier", force: false, null);
        });
}
