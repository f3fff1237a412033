using System.Diagnostics;
using System.Globalization;
using System.Text;
using IpvsOperator.Addressing;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.Ipvs;

namespace IpvsOperator.Benchmarks;

/// <summary>
/// Programs 5,000 virtual services × 4 destinations through the netlink client, then the same
/// rules through <c>ipvsadm -R</c>, on the same kernel in the same VM run; prints both times and
/// their ratio (target: the client no slower than ipvsadm-restore). Needs real IPVS: run it in
/// the kernel VM (<c>make bench-kernel</c>).
/// </summary>
internal static class IpvsProgramming
{
    public static async Task RunAsync(int services = 5_000, int destinations = 4)
    {
        var rules = Enumerable.Range(0, services).Select(i => new VirtualServiceKey(
            new IPAddressValue(IPFamily.IPv4, (uint)(0x0A640000 + i)), IpvsProtocol.TCP, 80)).ToList();
        Destination Backend(int service, int d) => new(new IPAddressValue(IPFamily.IPv4, (uint)(0x0A000000 + service * destinations + d)), 8080);

        Console.WriteLine($"| {services} services x {destinations} destinations | seconds | rules/s |");
        Console.WriteLine("|---|---:|---:|");
        var results = new List<double>();
        for (var round = 0; round < 2; round++)
        {
            await RunAsync("ipvsadm", "-C");
            using var ipvs = IpvsNetlink.Open();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < rules.Count; i++)
            {
                ipvs.AddService(new VirtualService(rules[i], "rr"));
                for (var d = 0; d < destinations; d++)
                {
                    ipvs.AddDestination(rules[i], Backend(i, d));
                }
            }
            var client = clock.Elapsed.TotalSeconds;
            Check(ipvs, services, destinations);

            // The same changes as the agent sends them: together, several to a datagram.
            await RunAsync("ipvsadm", "-C");
            var changes = new List<IpvsChange>(services * (1 + destinations));
            for (var i = 0; i < rules.Count; i++)
            {
                changes.Add(new IpvsChange.AddService(new VirtualService(rules[i], "rr")));
                for (var d = 0; d < destinations; d++)
                {
                    changes.Add(new IpvsChange.AddDestination(rules[i], Backend(i, d)));
                }
            }
            var before = CpuTimes.Read();
            clock.Restart();
            var refused = ipvs.ApplyAll(changes);
            var batched = clock.Elapsed.TotalSeconds;
            var batchedCpu = CpuTimes.Read() - before;
            if (refused.Count > 0)
            {
                throw new InvalidOperationException($"the kernel refused {refused.Count} changes, the first: {refused[0].Error.Message}");
            }
            Check(ipvs, services, destinations);

            await RunAsync("ipvsadm", "-C");
            var script = new StringBuilder();
            for (var i = 0; i < rules.Count; i++)
            {
                script.Append("-A -t ").Append(rules[i].Address).Append(":80 -s rr\n");
                for (var d = 0; d < destinations; d++)
                {
                    script.Append("-a -t ").Append(rules[i].Address).Append(":80 -r ").Append(Backend(i, d).Address).Append(":8080 -m -w 1\n");
                }
            }
            before = CpuTimes.Read();
            clock.Restart();
            await RunAsync("ipvsadm", "-R", script.ToString());
            var restore = clock.Elapsed.TotalSeconds;
            var restoreCpu = CpuTimes.Read() - before;
            Check(ipvs, services, destinations);
            await RunAsync("ipvsadm", "-C");

            var total = services * (1 + destinations);
            Console.WriteLine($"| run {round + 1}: netlink client, one round trip a change | {client:F2} | {total / client:F0} |");
            Console.WriteLine($"| run {round + 1}: netlink client, changes together (ApplyAll, as the agent) | {batched:F2} | {total / batched:F0} |");
            Console.WriteLine($"| run {round + 1}: ipvsadm -R | {restore:F2} | {total / restore:F0} |");
            // Where the time goes: the kernel's work (system time) is the same for both clients, the
            // rest is each client's own; the kernel's share bounds how far any client can get.
            Console.WriteLine($"|   run {round + 1} CPU: changes together user {batchedCpu.User:F2} s, system {batchedCpu.System:F2} s; ipvsadm -R user {restoreCpu.ChildUser:F2} s, system {restoreCpu.ChildSystem:F2} s | | |");
            results.Add(batched / restore);
        }
        Console.WriteLine();
        Console.WriteLine($"client time (changes together) / ipvsadm-restore time: {string.Join(", ", results.Select(r => r.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))} (below 1: the client is faster)");
    }

    private static void Check(IpvsNetlink ipvs, int services, int destinations)
    {
        var listed = ipvs.ListServices();
        if (listed.Count != services || ipvs.ListDestinations(listed[0].Key).Count != destinations)
        {
            throw new InvalidOperationException($"expected {services} services with {destinations} destinations, found {listed.Count}");
        }
    }

    private static async Task RunAsync(string file, string arguments, string? input = null)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardInput = input is not null, UseShellExecute = false };
        using var process = Process.Start(start)!;
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited {process.ExitCode}");
        }
    }

    /// <summary>This process's CPU time and its waited-for children's, from /proc/self/stat (clock ticks of 10 ms).</summary>
    private readonly record struct CpuTimes(double User, double System, double ChildUser, double ChildSystem)
    {
        private const double TicksPerSecond = 100;

        public static CpuTimes Read()
        {
            // Fields after the command's closing parenthesis: utime, stime, cutime, cstime are the 14th to 17th of the line.
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            double Field(int number) => double.Parse(fields[number - 3], CultureInfo.InvariantCulture) / TicksPerSecond;
            return new CpuTimes(Field(14), Field(15), Field(16), Field(17));
        }

        public static CpuTimes operator -(CpuTimes a, CpuTimes b) => new(a.User - b.User, a.System - b.System, a.ChildUser - b.ChildUser, a.ChildSystem - b.ChildSystem);
    }
}
