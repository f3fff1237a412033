using IpvsOperator.Runtime.Controllers;
using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Hosting;

/// <summary>
/// The controllers of one process, run while this instance leads (or always, with leader
/// election off). Losing the lease stops every controller at once; winning it again starts them
/// afresh, from a new list, as a new leader must.
/// </summary>
[Rbac.GenericRbac(Groups = ["coordination.k8s.io"], Resources = ["leases"], Verbs = Rbac.RbacVerb.Create, Namespaced = true)]
[Rbac.GenericRbac(Groups = ["coordination.k8s.io"], Resources = ["leases"], Verbs = Rbac.RbacVerb.Get | Rbac.RbacVerb.Update, Namespaced = true,
    ResourceNames = [LeaderElectionOptions.DefaultLeaseName])]
public sealed class OperatorRuntime(IKubernetes kubernetes, LeaderElectionOptions election, ILoggerFactory loggers)
{
    private readonly List<Func<ControllerTerm, IEnumerable<IRunnableController>>> builders = [];
    private readonly ILogger logger = loggers.CreateLogger<OperatorRuntime>();
    private volatile IReadOnlyList<IControllerStatistics> running = [];

    public bool IsLeading { get; private set; }

    /// <summary>Becomes true once the controllers of the current term have listed their objects.</summary>
    public bool IsReady { get; private set; }

    public IReadOnlyList<IControllerStatistics> Controllers => running;

    /// <summary>
    /// Registers controllers that belong together: <paramref name="build"/> is called at the start of
    /// every term (a won lease, or the start without election) and makes that term's runners from
    /// the resources it watches, which the controllers may share.
    /// </summary>
    public OperatorRuntime AddControllers(Func<ControllerTerm, IEnumerable<IRunnableController>> build)
    {
        builders.Add(build);
        return this;
    }

    /// <summary>Registers one controller with its finalizers, on a resource of its own.</summary>
    public OperatorRuntime AddController<TEntity>(Func<IEntityController<TEntity>> controller, Func<IEnumerable<IEntityFinalizer<TEntity>>>? finalizers = null,
        ControllerOptions? options = null, string? ns = null, string? labelSelector = null)
        where TEntity : class, IKubernetesObject<V1ObjectMeta> =>
        AddControllers(term => [term.Watch<TEntity>(options, ns, labelSelector).RunWith(controller(), finalizers?.Invoke())]);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!election.Enabled)
        {
            await RunControllersAsync(cancellationToken);
            return;
        }
        if (string.IsNullOrEmpty(election.Namespace))
        {
            throw new InvalidOperationException("leader election needs the namespace of its Lease");
        }
        var leaseLock = new LeaseLock(kubernetes, election.Namespace, election.LeaseName, election.Identity);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = election.LeaseDuration,
            RenewDeadline = election.RenewDeadline,
            RetryPeriod = election.RetryPeriod,
        });
        elector.OnNewLeader += leader => logger.LogInformation("leader is now {Leader}", leader);
        elector.OnError += error => logger.LogWarning(error, "leader election error");
        while (!cancellationToken.IsCancellationRequested)
        {
            using var term = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task? controllers = null;
            void Started()
            {
                IsLeading = true;
                RuntimeMetrics.IsLeader.Set(1);
                logger.LogInformation("{Identity} leads; starting controllers", election.Identity);
                controllers = RunControllersAsync(term.Token);
            }
            elector.OnStartedLeading += Started;
            try
            {
                // Returns when leadership is lost (or was never won before cancellation).
                await elector.RunUntilLeadershipLostAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping.
            }
            finally
            {
                elector.OnStartedLeading -= Started;
                IsLeading = false;
                IsReady = false;
                RuntimeMetrics.IsLeader.Set(0);
                await term.CancelAsync();
                if (controllers is not null)
                {
                    await controllers;
                    logger.LogInformation("{Identity} stopped its controllers", election.Identity);
                }
            }
        }
    }

    private async Task RunControllersAsync(CancellationToken cancellationToken)
    {
        var term = new ControllerTerm(kubernetes, loggers);
        var instances = builders.SelectMany(build => build(term)).ToList();
        running = instances;
        try
        {
            var runs = instances.Select(i => i.RunAsync(cancellationToken)).ToList();
            try
            {
                await Task.WhenAll(instances.Select(i => i.WaitForSyncAsync(cancellationToken)));
                IsReady = true;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped before every informer listed.
            }
            await Task.WhenAll(runs);
        }
        finally
        {
            IsReady = false;
            running = [];
            instances.ForEach(i => i.Dispose());
        }
    }
}
