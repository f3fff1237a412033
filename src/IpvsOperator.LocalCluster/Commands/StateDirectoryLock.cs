namespace IpvsOperator.Commands;

/// <summary>
/// One local mode per state directory: a second would write its own kubeconfig over the first's
/// and leave that one unreachable. The lock is the operating system's (an exclusive flock on
/// <c>lock</c>, which is what FileShare.None takes on Linux), so it goes with the process that
/// held it, crashed or not; <c>owner</c> beside it names that process for the refusal.
/// </summary>
internal sealed class StateDirectoryLock : IDisposable
{
    private readonly FileStream held;
    private readonly string ownerPath;

    private StateDirectoryLock(FileStream held, string ownerPath)
    {
        this.held = held;
        this.ownerPath = ownerPath;
    }

    /// <summary>Takes the directory; throws <see cref="StateDirectoryInUseException"/> naming the holder when another local mode has it.</summary>
    public static StateDirectoryLock Acquire(string directory)
    {
        var full = Path.GetFullPath(directory);
        var ownerPath = Path.Combine(full, "owner");
        FileStream held;
        try
        {
            held = new FileStream(Path.Combine(full, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            var owner = File.Exists(ownerPath) ? File.ReadAllText(ownerPath).Trim() : "unknown";
            throw new StateDirectoryInUseException(
                $"another local mode (process {owner}) is running with the state directory {full}; its kubeconfig there is in use. " +
                $"Stop it first (Ctrl-C in its terminal, or kill {owner}), or give this one a directory of its own: --state-dir DIR (make run ARGS='--state-dir DIR').");
        }
        File.WriteAllText(ownerPath, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new StateDirectoryLock(held, ownerPath);
    }

    /// <summary>Lets the directory go; the lock file stays (deleting it would let two processes lock two different files of one name).</summary>
    public void Dispose()
    {
        File.Delete(ownerPath);
        held.Dispose();
    }
}
