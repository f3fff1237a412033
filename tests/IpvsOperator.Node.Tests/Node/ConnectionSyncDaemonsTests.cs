using IpvsOperator.Commands;
using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Node;
using IpvsOperator.Tests.Support;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Tests.Node;

/// <summary>
/// With --connection-sync-interface every sync keeps this node's IPVS sync daemons, master and
/// backup, as the flags say: started when missing, restarted when they run otherwise, a daemon that
/// cannot start a problem of its own and never a failed sync. The kernel's side (a backup getting a
/// master's entries) is in KernelConnectionSyncTrafficTests.
/// </summary>
public class ConnectionSyncDaemonsTests
{
    private static readonly ClusterView Nothing = new([], [], [], []);
    private static readonly ConnectionSyncOptions OnEthSync = new("eth-sync", 34);

    private InMemoryAddressManager links = null!;
    private InMemoryConnectionSync daemons = null!;
    private NodeDataplane dataplane = null!;

    [SetUp]
    public void Fresh()
    {
        links = new InMemoryAddressManager();
        daemons = new InMemoryConnectionSync(name => links.ListLinks().Any(l => l.Name == name));
        dataplane = NodeDataplaneFactory.InMemory() with { Links = links, ConnectionSync = daemons };
    }

    private KernelSync Kernel(ConnectionSyncOptions? sync, ILogger? logger = null) =>
        new(dataplane, new NodeAgentOptions { NodeName = "node-a", ConnectionSync = sync }, new ManualClock(), logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    [Test]
    public void Every_node_runs_a_master_and_a_backup_on_the_sync_interface_and_a_second_sync_writes_nothing()
    {
        links.AddLink("eth-sync", "veth");
        var kernel = Kernel(OnEthSync);

        var first = kernel.Run(Nothing, SyncTrigger.Periodic);

        first.Failure.Should().BeNull();
        daemons.ListDaemons().Should().Equal(new SyncDaemon(SyncDaemonRole.Master, "eth-sync", 34), new SyncDaemon(SyncDaemonRole.Backup, "eth-sync", 34));
        kernel.ConnectionSync!.Running.Should().BeEquivalentTo([SyncDaemonRole.Master, SyncDaemonRole.Backup]);
        kernel.ConnectionSync.Problem.Should().BeNull();
        IpvsOperator.Node.NodeMetrics.ConnectionSyncDaemons.WithLabels("backup").Value.Should().Be(1);
        kernel.Run(Nothing, SyncTrigger.Change).Writes.Should().Be(0, "daemons that run as asked are left alone");
    }

    [Test]
    public void A_daemon_stopped_by_hand_is_started_again_and_one_running_with_another_sync_id_is_restarted_as_asked()
    {
        links.AddLink("eth-sync", "veth");
        var kernel = Kernel(OnEthSync);
        kernel.Run(Nothing, SyncTrigger.Periodic);

        daemons.StopDaemon(SyncDaemonRole.Backup);
        daemons.StopDaemon(SyncDaemonRole.Master);
        daemons.StartDaemon(new SyncDaemon(SyncDaemonRole.Master, "eth-sync", 7));
        var repaired = kernel.Run(Nothing, SyncTrigger.Periodic);

        repaired.Writes.Should().Be(3, "the master stopped and started again, the backup started");
        daemons.ListDaemons().Should().Equal(OnEthSync.Daemons);
    }

    [Test]
    public void A_daemon_that_cannot_start_is_a_problem_naming_the_interface_not_a_failed_sync_and_starts_once_the_interface_appears()
    {
        using var logs = new CollectingLoggerProvider();
        var kernel = Kernel(OnEthSync, logs.Factory.CreateLogger("agent"));

        var report = kernel.Run(Nothing, SyncTrigger.Periodic);
        kernel.Run(Nothing, SyncTrigger.Change);

        report.Failure.Should().BeNull("the node serves without connection sync");
        kernel.ConnectionSync!.Problem.Should().Contain("start the IPVS sync daemon, master on eth-sync (sync id 34) failed").And.Contain("there is no interface eth-sync");
        kernel.ConnectionSync.Running.Should().BeEmpty();
        IpvsOperator.Node.NodeMetrics.ConnectionSyncDaemons.WithLabels("master").Value.Should().Be(0);
        logs.Entries.Where(e => e.Level == LogLevel.Warning).Should().ContainSingle("a problem is logged when it starts, not on every sync")
            .Which.Message.Should().Contain("eth-sync");

        links.AddLink("eth-sync", "veth");
        kernel.Run(Nothing, SyncTrigger.Change);

        kernel.ConnectionSync.Problem.Should().BeNull();
        daemons.ListDaemons().Should().Equal(OnEthSync.Daemons);
        logs.Entries.Should().Contain(e => e.Level == LogLevel.Information && e.Message.Contains("run again on eth-sync", StringComparison.Ordinal));
    }

    [Test]
    public void The_entries_received_from_other_nodes_are_counted_at_the_periodic_sync()
    {
        links.AddLink("eth-sync", "veth");
        var kernel = Kernel(OnEthSync);
        daemons.SyncedConnections = 12;

        kernel.Run(Nothing, SyncTrigger.Change);
        kernel.ConnectionSync!.SyncedConnections.Should().BeNull("a change does not read the whole connection table");
        kernel.Run(Nothing, SyncTrigger.Periodic);

        kernel.ConnectionSync.SyncedConnections.Should().Be(12);
        IpvsOperator.Node.NodeMetrics.SyncedConnections.Value.Should().Be(12);
    }

    [Test]
    public void Without_the_flag_daemons_found_running_are_left_alone()
    {
        links.AddLink("eth-sync", "veth");
        var someoneElses = new SyncDaemon(SyncDaemonRole.Master, "eth-sync", 3);
        daemons.StartDaemon(someoneElses);

        var kernel = Kernel(sync: null);
        kernel.Run(Nothing, SyncTrigger.Periodic);

        kernel.ConnectionSync.Should().BeNull();
        daemons.ListDaemons().Should().Equal(someoneElses);
    }

    [TestCase("--connection-sync-id", "256", "--connection-sync-id must be 0 to 255 (the sync messages carry one byte of it); it was 256")]
    [TestCase("--connection-sync-id", "-1", "--connection-sync-id must be 0 to 255 (the sync messages carry one byte of it); it was -1")]
    public void A_sync_id_out_of_range_is_refused_with_what_is_valid(string flag, string value, string message)
    {
        var parsed = NodeCommand.Create().Parse([flag, value]);

        parsed.Errors.Select(e => e.Message).Should().Contain(message);
    }

    [Test]
    public void An_interface_name_the_kernel_would_cut_is_refused_naming_it()
    {
        var validate = () => new ConnectionSyncOptions("a-name-too-long-0", 1).Validate();

        validate.Should().Throw<ArgumentException>().WithMessage("--connection-sync-interface/--connection-sync-id: 'a-name-too-long-0' is not an interface name (1 to 15 characters)*");
    }
}
