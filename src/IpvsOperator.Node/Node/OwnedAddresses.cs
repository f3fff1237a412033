using IpvsOperator.Addressing;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Node;

/// <summary>
/// The VIPs this agent bound, remembered so that it can still remove one whose IPAllocation was
/// deleted while the agent was down. Kept in a file under /run: it lives exactly as long as the
/// kernel state it describes (both go with a reboot). Without a file, it lasts the process.
/// </summary>
internal sealed class OwnedAddresses
{
    private readonly string? path;
    private readonly ILogger logger;
    private HashSet<IPAddressValue> recorded = [];

    public OwnedAddresses(string? path, ILogger logger)
    {
        this.path = path;
        this.logger = logger;
        if (path is not null && File.Exists(path))
        {
            foreach (var line in File.ReadAllLines(path))
            {
                if (IPAddressValue.TryParse(line.Trim(), out var address))
                {
                    recorded.Add(address);
                }
            }
        }
    }

    public bool Contains(IPAddressValue address) => recorded.Contains(address);

    public IReadOnlySet<IPAddressValue> All => recorded;

    /// <summary>Replaces the record after a sync; the file is rewritten only when it changed.</summary>
    public void Record(IEnumerable<IPAddressValue> bound)
    {
        var now = bound.ToHashSet();
        if (now.SetEquals(recorded))
        {
            return;
        }
        recorded = now;
        if (path is null)
        {
            return;
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var temporary = path + ".tmp";
            File.WriteAllLines(temporary, now.Order().Select(a => a.ToString()));
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning("cannot record the bound addresses in {Path}: {Error}; they are remembered until the agent restarts", path, error.Message);
        }
    }
}
