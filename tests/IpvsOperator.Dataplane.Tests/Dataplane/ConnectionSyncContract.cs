using IpvsOperator.Dataplane;
using IpvsOperator.Dataplane.InMemory;
using IpvsOperator.Dataplane.Netlink;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>
/// The IPVS connection sync daemons: at most one master and one backup, stopped by role, errors as
/// the kernel gives them. The in-memory twin is held to it here, the kernel in the VM.
/// </summary>
public abstract class ConnectionSyncContract
{
    protected abstract IConnectionSync Sync { get; }

    /// <summary>An interface of the node that carries multicast.</summary>
    protected abstract string SyncInterface { get; }

    /// <summary>As <see cref="IpvsContract"/>: the kernel's suite checks the errno too.</summary>
    protected virtual void ShouldRefuse(Action request, DataplaneError refusal, int errno) =>
        request.Should().Throw<DataplaneException>().Which.Error.Should().Be(refusal);

    [Test]
    public void A_master_and_a_backup_run_side_by_side_and_stop_by_role()
    {
        Sync.StartDaemon(new SyncDaemon(SyncDaemonRole.Master, SyncInterface, 7));
        Sync.StartDaemon(new SyncDaemon(SyncDaemonRole.Backup, SyncInterface, 7));

        Sync.ListDaemons().Should().Equal(new SyncDaemon(SyncDaemonRole.Master, SyncInterface, 7), new SyncDaemon(SyncDaemonRole.Backup, SyncInterface, 7));
        ShouldRefuse(() => Sync.StartDaemon(new SyncDaemon(SyncDaemonRole.Master, SyncInterface, 8)), DataplaneError.AlreadyExists, NetlinkException.EEXIST);

        Sync.StopDaemon(SyncDaemonRole.Master);
        Sync.ListDaemons().Should().Equal(new SyncDaemon(SyncDaemonRole.Backup, SyncInterface, 7));
        ShouldRefuse(() => Sync.StopDaemon(SyncDaemonRole.Master), DataplaneError.NotFound, NetlinkException.ESRCH);
        Sync.StopDaemon(SyncDaemonRole.Backup);
        Sync.ListDaemons().Should().BeEmpty();
    }

    [Test]
    public void A_daemon_on_an_interface_the_node_lacks_is_refused_and_a_name_the_kernel_would_cut_never_sent()
    {
        ShouldRefuse(() => Sync.StartDaemon(new SyncDaemon(SyncDaemonRole.Backup, "no-such-link0")), DataplaneError.NotFound, NetlinkException.ENODEV);
        ((Action)(() => Sync.StartDaemon(new SyncDaemon(SyncDaemonRole.Master, "a-name-too-long-0")))).Should().Throw<ArgumentException>().WithMessage("*a-name-too-long-0*1 to 15 characters*");
        ((Action)(() => Sync.StartDaemon(new SyncDaemon(SyncDaemonRole.Master, SyncInterface, 256)))).Should().Throw<ArgumentException>().WithMessage("*sync id 256*0 to 255*");
        Sync.ListDaemons().Should().BeEmpty();
    }
}

public class InMemoryConnectionSyncTests : ConnectionSyncContract
{
    private InMemoryConnectionSync sync = null!;

    [SetUp]
    public void Fresh() => sync = new InMemoryConnectionSync(name => name == "eth-sync");

    protected override IConnectionSync Sync => sync;

    protected override string SyncInterface => "eth-sync";
}
