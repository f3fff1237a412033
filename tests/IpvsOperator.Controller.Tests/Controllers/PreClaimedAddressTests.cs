using IpvsOperator.Entities;
using IpvsOperator.Controllers;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Controllers;

/// <summary>
/// Claims made ahead of the controller, as <c>migrate metallb --apply</c> makes them for the
/// addresses MetalLB gave: a Service the controller does not serve (yet) keeps them and its
/// status, and once served it keeps its address.
/// </summary>
public class PreClaimedAddressTests : ControllerFixture
{
    [Test]
    public async Task A_Service_the_controller_never_served_keeps_a_claim_made_for_it_and_the_address_in_its_status()
    {
        var ns = await NewNamespaceAsync();
        await CreatePoolAsync("pre-claimed", "198.51.100.216/29");
        var (runtime, _) = StartRuntime(new ControllerSettings { DefaultClass = false });
        var metallbs = await CreateServiceAsync(ns, "metallbs");
        await SetStatusAsync(ns, "metallbs", "198.51.100.220");
        var runner = Runner(runtime, "ServiceController");
        await Eventually.TrueAsync(() => Task.FromResult(runner.Reconciles > 0 && runner.QueueDepth == 0), "the controller looked at the Service as created");
        var reconciled = runner.Reconciles;
        await Allocations.CreateAsync(new V1Alpha1IPAllocation
        {
            Metadata = new V1ObjectMeta { Name = NameOf("198.51.100.220") },
            Spec = new IPAllocationSpec { Address = "198.51.100.220", Pool = "pre-claimed", ServiceRef = new ServiceReference { Namespace = ns, Name = "metallbs", Uid = metallbs.Metadata.Uid } },
        });

        // The claim's change and a label edit bring the Service to the controller, which does not serve it.
        await Client.CoreV1.PatchNamespacedServiceAsync(new V1Patch("""{"metadata":{"labels":{"touched":"yes"}}}""", V1Patch.PatchType.MergePatch), "metallbs", ns);
        await Eventually.TrueAsync(() => Task.FromResult(runner.Reconciles > reconciled && runner.QueueDepth == 0), "the controller looked at the Service with its claim");

        (await Allocations.GetAsync(null, NameOf("198.51.100.220"))).Should().NotBeNull("a claim of a Service the controller never served is not its to release");
        (await AddressOfAsync(ns, "metallbs")).Should().Be("198.51.100.220", "the status another implementation wrote is left alone");
        (await Services.GetAsync(ns, "metallbs"))!.Metadata.Finalizers.Should().BeNullOrEmpty();
    }

    private async Task SetStatusAsync(string ns, string name, string address) =>
        await Client.CoreV1.PatchNamespacedServiceStatusAsync(new V1Patch("""{"status":{"loadBalancer":{"ingress":[{"ip":""" + $"\"{address}\"" + "}]}}}", V1Patch.PatchType.MergePatch), name, ns);
}
