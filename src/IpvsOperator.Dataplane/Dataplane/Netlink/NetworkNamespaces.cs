using System.Runtime.InteropServices;

namespace IpvsOperator.Dataplane.Netlink;

/// <summary>Opening sockets inside another network namespace.</summary>
internal static partial class NetworkNamespaces
{
    private const int CloneNewNet = 0x40000000;
    private const int ReadOnly = 0;

    /// <summary>
    /// Opens a socket bound to the network namespace at <paramref name="path"/> (e.g.
    /// /var/run/netns/NAME). A netlink socket stays bound to the namespace it was made in.
    /// </summary>
    public static NetlinkSocket Open(string path, int protocol, TimeSpan? timeout = null) =>
        Inside(path, () => new NetlinkSocket(protocol, timeout));

    /// <summary>
    /// Runs <paramref name="open"/> inside the network namespace at <paramref name="path"/>: on a
    /// short-lived thread of its own, so no other thread of the process changes namespace. Sockets
    /// made there (netlink, AF_PACKET) stay in that namespace.
    /// </summary>
    public static T Inside<T>(string path, Func<T> open)
        where T : class
    {
        T? opened = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            var target = NetworkNamespaces.open(path, ReadOnly);
            if (target < 0)
            {
                failure = new NetlinkException(Marshal.GetLastPInvokeError(), $"open network namespace {path}");
                return;
            }
            try
            {
                if (setns(target, CloneNewNet) != 0)
                {
                    failure = new NetlinkException(Marshal.GetLastPInvokeError(), $"enter network namespace {path}");
                    return;
                }
                opened = open();
            }
            catch (Exception error)
            {
                failure = error;
            }
            finally
            {
                close(target);
            }
        });
        thread.Start();
        thread.Join();
        return opened ?? throw failure ?? new InvalidOperationException($"nothing opened in {path}");
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int type);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
