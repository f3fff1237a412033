using System.Net;
using IpvsOperator.Entities;
using IpvsOperator.Readers;
using IpvsOperator.Runtime.Client;
using IpvsOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace IpvsOperator.Tests.Controllers;

public class RaceAndCrashTests : ControllerFixture
{
    [Test]
    public async Task Two_controllers_racing_over_a_full_pool_never_give_one_address_to_two_Services()
    {
        var ns = await NewNamespaceAsync("race");
        await Pools.CreateAsync(new V1Alpha1IPPool { Metadata = new V1ObjectMeta { Name = "race" }, Spec = new IPPoolSpec { Addresses = ["203.0.113.0/24"], AvoidBuggyIPs = true } });
        StartController();
        StartController();

        var names = Enumerable.Range(0, 300).Select(i => $"svc-{i:D3}").ToList();
        var race = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "race" };
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (name, token) => await CreateServiceAsync(ns, name, race));

        var seen = "";
        await Eventually.TrueAsync(async () =>
        {
            var now = await StateAsync(ns);
            seen = $"{now.Addressed.Count} addressed, {now.Claims.Count} claims, {now.Claims.Select(c => c.Spec.ServiceRef.Name).Distinct().Count()} claimed Services";
            return now.Addressed.Count == 254;
        }, () => $"254 Services have an address (last seen: {seen})", TimeSpan.FromSeconds(90));
        var state = await StateAsync(ns);
        state.Addressed.Values.Should().OnlyHaveUniqueItems("no address is given to two Services");
        state.Addressed.Values.Should().OnlyContain(a => !a.EndsWith(".0", StringComparison.Ordinal) && !a.EndsWith(".255", StringComparison.Ordinal));
        // Settled: race leftovers released, and every claim backs the address its Service shows. The
        // Services and the claims are two lists read one after the other, so a claim made between
        // the two reads is seen before its Service shows it: settled is when a snapshot agrees.
        var disagreeing = "";
        await Eventually.TrueAsync(async () =>
        {
            state = await StateAsync(ns);
            var snapshot = state;
            disagreeing = string.Join(", ", snapshot.Claims.Where(c => snapshot.Addressed.GetValueOrDefault(c.Spec.ServiceRef.Name) != c.Spec.Address)
                .Select(c => $"{c.Spec.Address} claimed by {c.Spec.ServiceRef.Name}, which shows {snapshot.Addressed.GetValueOrDefault(c.Spec.ServiceRef.Name) ?? "nothing"}"));
            return snapshot.Claims.Count == 254 && disagreeing.Length == 0;
        }, () => $"exactly 254 claims remain, each backing the address its Service shows (disagreeing: {disagreeing})", TimeSpan.FromSeconds(60));
        state.Addressed.Values.Should().OnlyHaveUniqueItems("no address is given to two Services");
        var waiting = names.Except(state.Addressed.Keys).ToList();
        waiting.Should().HaveCount(46);
        var missing = new List<string>();
        await Eventually.TrueAsync(async () =>
        {
            var failed = (await Client.CoreV1.ListNamespacedEventAsync(ns)).Items.Where(e => e.Reason == WellKnown.Events.AllocationFailed).Select(e => e.InvolvedObject.Name).ToHashSet();
            missing = [.. waiting.Where(w => !failed.Contains(w))];
            return missing.Count == 0;
        }, () => $"each of the 46 waiting Services has an AllocationFailed event (missing: {string.Join(", ", missing)})", TimeSpan.FromSeconds(60));

        var doomed = state.Addressed.Keys.Take(100).ToList();
        await Parallel.ForEachAsync(doomed, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (name, token) => await Client.CoreV1.DeleteNamespacedServiceAsync(name, ns, cancellationToken: token));

        await Eventually.TrueAsync(async () =>
        {
            var now = await StateAsync(ns);
            return now.Addressed.Count == 200 && waiting.All(now.Addressed.ContainsKey) && now.Claims.Count == 200;
        }, "the 46 waiting Services get the freed addresses", TimeSpan.FromSeconds(90));
        (await StateAsync(ns)).Addressed.Values.Should().OnlyHaveUniqueItems();
    }

    [Test]
    public async Task A_controller_that_has_not_seen_the_claim_behind_a_Services_status_keeps_that_address_and_releases_its_leftover()
    {
        // The two-controller race, made exact. The other controller claimed .201 for the Service and
        // published it; this one holds an older leftover claim, .202, for the same Service, and its
        // cache of claims has not seen .201 yet.
        var ns = await NewNamespaceAsync("lag");
        await CreatePoolAsync("lag", "198.51.100.200/30");
        var web = await CreateServiceAsync(ns, "web", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "lag" });
        V1Alpha1IPAllocation ClaimOf(string address) => new()
        {
            Metadata = new V1ObjectMeta { Name = NameOf(address) },
            Spec = new IPAllocationSpec { Address = address, Pool = "lag", ServiceRef = new ServiceReference { Namespace = ns, Name = "web", Uid = web.Metadata.Uid } },
        };
        await Allocations.CreateAsync(ClaimOf("198.51.100.202"));
        using var claimEvents = Server.Faults.Hold("watch", "ipallocations");
        using (Server.Faults.Hold("list", "services"))
        {
            var watchesBefore = Server.RequestCounts.GetValueOrDefault("watch ipallocations");
            StartController();
            await Eventually.TrueAsync(() => Server.RequestCounts.GetValueOrDefault("watch ipallocations") > watchesBefore, "the controller has listed the claims");
            await Allocations.CreateAsync(ClaimOf("198.51.100.201"));
            await Services.PatchAsync(ns, "web", """{"status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.201","ipMode":"Proxy"}]}}}""", PatchKind.Merge, status: true);
        }

        await Eventually.TrueAsync(async () => (await ClaimsOfAsync(ns, "web")).Count == 1, "the leftover claim is released");
        (await ClaimsOfAsync(ns, "web")).Single().Spec.Address.Should().Be("198.51.100.201", "the claim behind the published address is the one kept");
        (await AddressOfAsync(ns, "web")).Should().Be("198.51.100.201", "the status is not overwritten with the leftover");
    }

    [Test]
    public async Task A_controller_killed_between_claim_and_status_write_recovers_the_same_address()
    {
        var ns = await NewNamespaceAsync("crash");
        await CreatePoolAsync("crash", "192.0.2.0/28");
        Server.Faults.Delay(TimeSpan.FromSeconds(3), "patch", "services");
        var first = StartController();
        await CreateServiceAsync(ns, "survivor", new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "crash" });

        List<V1Alpha1IPAllocation> claims = [];
        await Eventually.TrueAsync(async () => (claims = await ClaimsOfAsync(ns, "survivor")).Count == 1, "the claim is made");
        await StopAsync(first);
        (await AddressOfAsync(ns, "survivor")).Should().BeNull("the controller died before writing the status");

        Server.Faults.Clear();
        StartController();

        (await WaitForAddressAsync(ns, "survivor")).Should().Be(claims[0].Spec.Address);
        await Eventually.TrueAsync(async () => (await ClaimsOfAsync(ns, "survivor")).Count == 1, "exactly one claim");
        (await Allocations.ListAllAsync()).Items.Where(a => a.Spec.Pool == "crash").Should().ContainSingle("no claim leaked");
    }

    [Test]
    public async Task A_controller_process_killed_with_SIGKILL_in_a_burst_of_allocations_leaks_and_duplicates_nothing_after_restart()
    {
        var ns = await NewNamespaceAsync("sigkill");
        await CreatePoolAsync("sigkill", "198.51.100.0/26");
        var work = Directory.CreateTempSubdirectory("ipvsop-sigkill-");
        var kubeconfig = Server.WriteKubeconfig(Path.Combine(work.FullName, "kubeconfig"));
        // Status writes slowed down, so the kill lands between claims and status writes of many Services.
        Server.Faults.Delay(TimeSpan.FromMilliseconds(300), "patch", "services");
        var names = Enumerable.Range(0, 40).Select(i => $"burst-{i:D2}").ToList();
        var annotations = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "sigkill" };
        var first = ControllerProcess(kubeconfig);
        try
        {
            var burst = Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (name, _) => await CreateServiceAsync(ns, name, annotations));
            await Eventually.TrueAsync(async () => (await StateAsync(ns)).Claims.Count >= 5, "the controller has made some claims", TimeSpan.FromSeconds(60));

            first.Process.Kill(); // SIGKILL: no finalizer, no graceful stop, requests cut mid-flight
            await first.Process.WaitForExitAsync();
            await burst;
            var atKill = await StateAsync(ns);
            atKill.Addressed.Count.Should().BeLessThan(names.Count, "the kill landed in the middle of the burst");
            TestContext.Out.WriteLine($"at the kill: {atKill.Claims.Count} claims, {atKill.Addressed.Count} Services with an address");
        }
        finally
        {
            first.Process.Dispose();
            TestContext.Out.WriteLine($"--- first controller (last lines)\n{string.Join('\n', first.Log.TakeLast(20))}");
        }

        Server.Faults.Clear();
        var second = ControllerProcess(kubeconfig);
        try
        {
            await Eventually.TrueAsync(async () => (await StateAsync(ns)).Addressed.Count == names.Count, "every Service has an address after the restart", TimeSpan.FromSeconds(90));
            await Eventually.TrueAsync(async () => (await StateAsync(ns)).Claims.Count == names.Count, "one claim per Service: none leaked", TimeSpan.FromSeconds(60));
            var state = await StateAsync(ns);
            state.Addressed.Values.Should().OnlyHaveUniqueItems("no address is given to two Services");
            state.Claims.Should().OnlyContain(c => state.Addressed[c.Spec.ServiceRef.Name] == c.Spec.Address, "every claim backs the address its Service shows");
            (await Allocations.ListAllAsync()).Items.Count(a => a.Spec.Pool == "sigkill").Should().Be(names.Count, "no claim outside the namespace either");
        }
        finally
        {
            second.Process.Kill();
            await second.Process.WaitForExitAsync();
            second.Process.Dispose();
            TestContext.Out.WriteLine($"--- second controller (last lines)\n{string.Join('\n', second.Log.TakeLast(20))}");
            work.Delete(recursive: true);
        }
    }

    /// <summary>A real <c>ipvs-operator controller</c> process against LocalCluster, its output kept for a failure's report.</summary>
    private static (System.Diagnostics.Process Process, System.Collections.Concurrent.ConcurrentQueue<string> Log) ControllerProcess(string kubeconfig)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[Path.Combine(AppContext.BaseDirectory, "ipvs-operator.dll"), "controller", "--kubeconfig", kubeconfig,
            "--leader-elect=false", "--webhook-port", "-1", "--metrics-port", "0"])
        {
            start.ArgumentList.Add(argument);
        }
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = System.Diagnostics.Process.Start(start)!;
        process.OutputDataReceived += (_, e) => log.Enqueue(e.Data ?? string.Empty);
        process.ErrorDataReceived += (_, e) => log.Enqueue(e.Data ?? string.Empty);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, log);
    }

    [Test]
    public async Task Injected_500s_and_dropped_watches_change_nothing_in_the_final_state()
    {
        var ns = await NewNamespaceAsync("chaos");
        await CreatePoolAsync("chaos", "192.0.2.64/27");
        var annotations = new Dictionary<string, string> { [WellKnown.Annotations.AddressPool] = "chaos" };
        Server.Faults.FailNext(20, "create", "ipallocations", HttpStatusCode.InternalServerError);
        Server.Faults.FailNext(20, "patch", "services", HttpStatusCode.ServiceUnavailable);
        var first = StartController();
        using var chaos = new CancellationTokenSource();
        var dropping = Task.Run(async () =>
        {
            while (!chaos.IsCancellationRequested)
            {
                Server.CloseAllWatches();
                await Task.Delay(150);
            }
        });
        for (var i = 0; i < 20; i++)
        {
            await CreateServiceAsync(ns, $"s{i}", annotations);
        }
        // Crash mid-way, then start again under the same faults.
        await Eventually.TrueAsync(async () => (await Allocations.ListAllAsync()).Items.Count(a => a.Spec.Pool == "chaos") >= 5, "some claims are made");
        await StopAsync(first);
        StartController();

        await Eventually.TrueAsync(async () => (await StateAsync(ns)).Addressed.Count == 20, "every Service has an address", TimeSpan.FromSeconds(60));
        await chaos.CancelAsync();
        await dropping;
        var state = await StateAsync(ns);
        state.Addressed.Values.Should().OnlyHaveUniqueItems();
        await Eventually.TrueAsync(async () => (await StateAsync(ns)).Claims.Count == 20, "one claim per Service, none leaked");
        (await StateAsync(ns)).Claims.Select(c => c.Spec.Address).Should().BeEquivalentTo(state.Addressed.Values);
    }

    private async Task<(Dictionary<string, string> Addressed, List<V1Alpha1IPAllocation> Claims)> StateAsync(string ns)
    {
        var services = (await Services.ListAllAsync(ns)).Items;
        var addressed = services.Where(s => s.Status?.LoadBalancer?.Ingress is { Count: > 0 })
            .ToDictionary(s => s.Metadata.Name, s => s.Status.LoadBalancer.Ingress[0].Ip);
        var claims = (await Allocations.ListAllAsync()).Items.Where(a => a.Holders().Any(h => h.Namespace == ns)).ToList();
        return (addressed, claims);
    }
}
