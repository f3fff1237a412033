using System.Collections.Concurrent;
using IpvsOperator.Addressing;
using IpvsOperator.Commands;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Controllers;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;
using MetalLB = IpvsOperator.Entities.WellKnown.Annotations.MetalLB;

namespace IpvsOperator.Tests.Migration;

/// <summary>
/// The proof that moving from MetalLB renumbers no Service: 200 Services with the addresses MetalLB
/// gave them (three pools, some sharing, some asking for their address), the migration applied,
/// then the controller started; a watch sees every change of every Service's status throughout.
/// </summary>
public class NoRenumberingTests : ControllerFixture
{
    private const int Count = 200;
    private const int Newcomers = 10;
    private static readonly string[] PoolNames = ["web", "api", "batch"];
    private static readonly string[] PoolBases = ["198.51.100.0", "203.0.113.0", "192.0.2.0"];

    [Test]
    public async Task After_migration_every_MetalLB_Service_keeps_its_address_and_none_is_ever_without_one()
    {
        await MetalLBCluster.InstallCrdsAsync(Client);
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "metallb-system" } });
        await MetalLBCluster.CreateAsync(Client, "metallb-system", string.Join("\n---\n", PoolNames.Select((name, p) => $$"""
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: {{name}}}
            spec: {addresses: [{{PoolBases[p]}}/24]}
            """)) + """

            ---
            apiVersion: metallb.io/v1beta1
            kind: L2Advertisement
            metadata: {name: every-pool}
            """);
        var ns = await NewNamespaceAsync("apps");
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < Count; i++)
        {
            var (service, address) = MetalLBService(i);
            await Client.CoreV1.CreateNamespacedServiceAsync(service, ns);
            // What MetalLB's controller wrote: the address, no ipMode.
            await Client.CoreV1.PatchNamespacedServiceStatusAsync(new V1Patch("""{"status":{"loadBalancer":{"ingress":[{"ip":""" + $"\"{address}\"" + "}]}}}", V1Patch.PatchType.MergePatch),
                service.Metadata.Name, ns);
            expected[service.Metadata.Name] = address;
        }
        using var stop = new CancellationTokenSource();
        var seen = new ConcurrentQueue<(string Name, string Ingress, string? Mode)>();
        var watch = WatchAsync(ns, (await Services.ListAsync(ns)).ResourceVersion, seen, stop.Token);

        var migration = await MetalLBCluster.MigrateAsync(Server, new MigrationOptions { Apply = true });

        // Services created during the switch, with no address yet, in a namespace the controller's
        // first pass reaches before the MetalLB Services: they must get free addresses, not MetalLB's.
        var newcomers = await NewNamespaceAsync("aaa");
        for (var i = 0; i < Newcomers; i++)
        {
            await CreateServiceAsync(newcomers, $"new-{i}", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "web" });
        }

        migration.ExitCode.Should().Be(0, migration.Report);
        var sharedPairs = Enumerable.Range(0, Count).Count(i => i % 20 == 3);
        migration.Report.Should().Contain($"{Count - sharedPairs} IPAllocation(s) for the addresses of the Services");
        var claims = (await Allocations.ListAllAsync()).Items;
        claims.Should().HaveCount(Count - sharedPairs);
        claims.Where(c => c.Spec.SharedWith is { Count: > 0 }).Should().HaveCount(sharedPairs, "the addresses MetalLB shared stay shared, in one claim");

        StartController();

        await Eventually.TrueAsync(async () => (await Services.ListAsync(ns)).Items.All(s => s.Metadata.Finalizers?.Contains(WellKnown.Finalizers.ReleaseAddress) == true
                && s.Status?.LoadBalancer?.Ingress is [{ IpMode: "Proxy" }]),
            "the controller serves every Service (its finalizer, and the status it writes)", TimeSpan.FromSeconds(180));
        await Eventually.TrueAsync(() => Task.FromResult(expected.Keys.All(name => seen.Any(s => s.Name == name && s.Mode == "Proxy"))),
            "the watch saw the controller's status of every Service", TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await watch;

        var changed = seen.Where(s => s.Ingress != expected[s.Name]).Select(s => $"{s.Name}: '{s.Ingress}' instead of {expected[s.Name]}").Distinct().ToList();
        changed.Should().BeEmpty("every status the watch saw, from the migration to the controller's, holds the Service's MetalLB address and nothing else");
        var final = (await Services.ListAsync(ns)).Items.ToDictionary(s => s.Metadata.Name, s => s.Status.LoadBalancer.Ingress.Single().Ip);
        final.Should().Equal(expected);
        var newAddresses = new List<string>();
        for (var i = 0; i < Newcomers; i++)
        {
            newAddresses.Add(await WaitForAddressAsync(newcomers, $"new-{i}"));
        }
        newAddresses.Should().OnlyHaveUniqueItems().And.NotIntersectWith(expected.Values, "a new Service gets a free address, never one MetalLB gave");
        (await Allocations.ListAllAsync()).Items.Should().HaveCount(Count - sharedPairs + Newcomers, "the controller adopted the claims, and claimed only the newcomers' addresses");
    }

    /// <summary>
    /// Service i as MetalLB left it: pools in turn, addresses from the bottom of the pool up (where
    /// our allocator, also starting at the bottom, puts a new Service's); every 20th pair of a pool
    /// shares an address under allow-shared-ip (both spellings); some ask for their address (spec or
    /// MetalLB's annotation) or their pool.
    /// </summary>
    private static (V1Service Service, string Address) MetalLBService(int i)
    {
        var shares = i % 20 == 3;
        var owner = shares ? i - 3 : i; // same pool (i % 3), the slot before
        var pool = owner % 3;
        var address = IPAddressValue.Parse(PoolBases[pool]).Add((uint)(owner / 3)).ToString();
        var service = LoadBalancer($"svc-{i:D3}", port: shares ? 443 : 80);
        var annotations = new Dictionary<string, string>();
        if (i % 20 is 0 or 3)
        {
            annotations[i % 2 == 0 ? MetalLB.DeprecatedAllowSharedIP : MetalLB.AllowSharedIP] = $"key-{owner}";
        }
        switch (i % 7)
        {
            case 1:
                service.Spec.LoadBalancerIP = address;
                break;
            case 2:
                annotations[MetalLB.DeprecatedLoadBalancerIPs] = address;
                break;
            case 4:
                annotations[MetalLB.AddressPool] = PoolNames[pool];
                break;
        }
        service.Metadata.Annotations = annotations;
        return (service, address);
    }

    /// <summary>Every change of the namespace's Services, from <paramref name="resourceVersion"/> on, as (name, addresses, ipMode).</summary>
    private async Task WatchAsync(string ns, string resourceVersion, ConcurrentQueue<(string, string, string?)> seen, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await foreach (var (change, service) in Services.WatchAsync(ns, resourceVersion, cancellationToken: cancellationToken))
                {
                    resourceVersion = service.Metadata.ResourceVersion;
                    if (change is WatchChange.Added or WatchChange.Modified)
                    {
                        var ingress = service.Status?.LoadBalancer?.Ingress ?? [];
                        seen.Enqueue((service.Metadata.Name, string.Join(",", ingress.Select(e => e.Ip)), ingress.FirstOrDefault()?.IpMode));
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
