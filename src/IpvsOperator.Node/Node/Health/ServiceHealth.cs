using IpvsOperator.Readers;

namespace IpvsOperator.Node.Health;

/// <summary>How a health-checked Service's endpoints fare in this node's probes.</summary>
internal sealed record ServiceHealth(HealthCheckProtocol Protocol, int Passing, IReadOnlyList<ProbeTarget> Failing)
{
    public int Total => Passing + Failing.Count;

    /// <summary>Per Service (namespace, name): the probe targets that lead to it, passing or failing.</summary>
    public static Dictionary<(string Namespace, string Name), ServiceHealth> Of(
        IReadOnlyDictionary<ProbeTarget, IReadOnlyCollection<(string Namespace, string Name)>> probed, Func<ProbeTarget, bool> isDown)
    {
        var tallies = new Dictionary<(string, string), Tally>();
        foreach (var (target, users) in probed)
        {
            var down = isDown(target);
            foreach (var user in users)
            {
                var tally = tallies.TryGetValue(user, out var t) ? t : tallies[user] = new Tally(target.Check.Protocol);
                if (down)
                {
                    tally.Failing.Add(target);
                }
                else
                {
                    tally.Passing++;
                }
            }
        }
        return tallies.ToDictionary(t => t.Key, t => new ServiceHealth(t.Value.Protocol, t.Value.Passing,
            [.. t.Value.Failing.OrderBy(f => f.Address).ThenBy(f => f.Port)]));
    }

    private sealed class Tally(HealthCheckProtocol protocol)
    {
        public HealthCheckProtocol Protocol { get; } = protocol;

        public int Passing { get; set; }

        public List<ProbeTarget> Failing { get; } = [];
    }
}
