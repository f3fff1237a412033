using IpvsOperator.Dataplane.Ipvs;

namespace IpvsOperator.Tests.Dataplane;

/// <summary>
/// The synced entries counted in /proc/net/ip_vs_conn_sync as the kernel prints it (ip_vs_conn.c,
/// ip_vs_conn_sync_seq_show); the kernel suite reads a backup's real table in KernelConnectionSyncTrafficTests.
/// </summary>
public class ConnectionOriginsTests
{
    [Test]
    public void Entries_marked_SYNC_are_counted_and_the_header_and_local_ones_are_not()
    {
        const string table = """
            Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
            TCP 0A090004 ABC1 0A090101 0050 0A090003 0050 ESTABLISHED SYNC       899
            TCP 0A090005 ABC2 0A090101 0050 0A090003 0050 ESTABLISHED LOCAL      899
            TCP 2001:0db8:0000:0000:0000:0000:0000:0004 ABC3 2001:0db8:0000:0000:0000:0000:0001:0001 0050 2001:0db8:0000:0000:0000:0000:0000:0003 0050 FIN_WAIT    SYNC       119
            UDP 0A090006 ABC4 0A090101 0035 0A090003 0035 UDP         SYNC       299
            """;

        ConnectionOrigins.CountSynced(new StringReader(table)).Should().Be(3);
        ConnectionOrigins.CountSynced(new StringReader("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires\n")).Should().Be(0);
    }
}
