namespace IpvsOperator.LocalCluster;

/// <summary>
/// What one CEL evaluation may spend, as kube-apiserver's per-call cost limit: every list element a
/// comprehension, <c>in</c> or an index visits (<see cref="CelList.ElementCost"/>), every character a
/// string function reads, costs.
/// Cel 0.3.3 has no cost tracking of its own, so the values handed to it (<see cref="CelList"/>) and the
/// functions registered here charge this budget; past it the evaluation throws
/// <see cref="CelBudgetExceededException"/>. Evaluation is synchronous, so the budget in force is
/// the calling thread's.
/// </summary>
internal sealed class CelBudget
{
    /// <summary>Upstream's per-call limit (<c>celconfig.PerCallLimit</c>).</summary>
    public const long PerCallLimit = 1_000_000;

    [ThreadStatic]
    private static CelBudget? current;

    private long remaining;

    private CelBudget(long limit) => remaining = limit;

    public long Spent { get; private set; }

    /// <summary>Runs <paramref name="evaluation"/> under a budget of <paramref name="limit"/>; what it spent comes back with its result.</summary>
    public static (T Result, long Spent) Run<T>(long limit, Func<T> evaluation)
    {
        var outer = current;
        var budget = new CelBudget(limit);
        current = budget;
        try
        {
            return (evaluation(), budget.Spent);
        }
        finally
        {
            current = outer;
        }
    }

    /// <summary>Charges the evaluation in progress (none: nothing to charge, as when a value is built outside one).</summary>
    public static void Charge(long cost)
    {
        if (current is not { } budget)
        {
            return;
        }
        budget.Spent += cost;
        budget.remaining -= cost;
        if (budget.remaining < 0)
        {
            throw new CelBudgetExceededException();
        }
    }
}

/// <summary>An evaluation ran past its <see cref="CelBudget"/>; the message is upstream's.</summary>
internal sealed class CelBudgetExceededException() : Exception("operation cancelled: actual cost limit exceeded");
