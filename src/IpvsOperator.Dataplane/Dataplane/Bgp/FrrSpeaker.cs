using System.Text.Json;
using IpvsOperator.Addressing;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// FRR, driven with its own tools: VIPs coming and going and lines only added go to vtysh in one
/// call; any other change goes through frr-reload.py, which compares the running configuration with
/// the new one and applies the difference. The sessions are read from bgpd as JSON. The
/// configuration file is written first, so an FRR that restarts comes back with it. An apply with
/// nothing to change writes nothing: the text is the one applied last and FRR's running
/// configuration is still what that apply left (anything else, an FRR restarted empty or a change by
/// hand, is repaired by a reload).
/// </summary>
public sealed class FrrSpeaker(FrrPaths paths, ILogger logger, TimeSpan? timeout = null) : IBgpSpeaker
{
    /// <summary>A reload of 2,000 VIPs takes about a second on the host; emulation is far slower.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(120);

    private readonly TimeSpan runTimeout = timeout ?? DefaultTimeout;
    private readonly SessionDownReasons reasons = new();
    private readonly TcpMd5Evidence md5 = new();
    private readonly Dictionary<IPAddressValue, (long NotificationsSent, uint? PeerAs)> refusedOpens = [];
    private readonly Lock readGate = new();
    private string? applied;
    private string? runningAfterApply;
    private HashSet<string> passwords = [];

    private string Vtysh => Path.Combine(paths.BinDirectory, "vtysh");

    public bool Apply(string configuration)
    {
        // Read once: it decides between nothing to do, an increment, a first apply and a reload.
        var running = RunningConfiguration();
        if (configuration == applied && running == runningAfterApply)
        {
            return false;
        }
        // The old and the new: FRR may quote either in what it prints about this apply.
        passwords = [.. FrrOutput.PasswordsIn(applied), .. FrrOutput.PasswordsIn(configuration)];
        WriteConfigurationFile(configuration);
        if (applied is not null && Increment(applied, configuration) is { } increment && running == runningAfterApply && TryIncrement(increment))
        {
            Finish(configuration);
            return true;
        }
        // `frr defaults` takes effect only when FRR starts: it is not sent.
        if (HoldsOnlyPartsOf(running, configuration)
            && TryIncrement(Increment(string.Join('\n', configuration.Split('\n').Where(l => l.StartsWith("frr ", StringComparison.Ordinal))), configuration)!))
        {
            FirstApplies++;
            Finish(configuration);
            return true;
        }
        // A second pass, which exits 0 only when it found nothing to change or changed it without an
        // error, is needed in two cases, both FRR 8.4's:
        // - frr-reload re-applies every added line in its own second pass, and bgpd refuses
        //   `bgp graceful-restart-disable` when it already holds it: the reload that adds it exits 1
        //   although bgpd took it;
        // - frr-reload deletes a peer's lines in the running configuration's order, and bgpd turns BFD
        //   back on when `no neighbor X bfd profile P` follows `no neighbor X bfd`: BFD turned off on
        //   a BGPPeer stayed on.
        // VIP changes, the frequent ones, need neither.
        var firstPassFailed = false;
        try
        {
            Reload();
        }
        catch (InvalidOperationException error)
        {
            logger.LogDebug("frr-reload's first pass failed ({Error}); a second pass decides", error.Message);
            firstPassFailed = true;
        }
        if (firstPassFailed || applied is null || RemovesPeerLines(applied, configuration))
        {
            Reload();
        }
        Reloads++;
        Finish(configuration);
        return true;
    }

    /// <summary>Applies made through frr-reload (of one or two passes each); those that went to vtysh directly are not counted.</summary>
    public int Reloads { get; private set; }

    /// <summary>Applies to an FRR that held no BGP configuration, made by vtysh alone (see <see cref="HoldsOnlyPartsOf"/>).</summary>
    public int FirstApplies { get; private set; }

    /// <summary>
    /// Whether FRR holds no BGP instance and no block or line in a block (a route-map, a BFD profile
    /// and their settings, an empty <c>bfd</c>) that <paramref name="configuration"/> lacks: a sidecar started or restarted empty,
    /// or one whose bgpd restarted while bfdd kept the same profiles. Then every line is an addition,
    /// and one vtysh call makes it, where frr-reload (two passes on a first apply, each a Python start
    /// and a diff) ran past its two-minute bound on an emulated CPU under load. Any other state is
    /// left to frr-reload, which also removes.
    /// </summary>
    internal static bool HoldsOnlyPartsOf(string running, string configuration)
    {
        var wanted = configuration.Split('\n').Select(l => l.TrimEnd()).ToHashSet(StringComparer.Ordinal);
        var lines = running.Split('\n').Select(l => l.TrimEnd()).ToArray();
        for (var j = 0; j < lines.Length; j++)
        {
            var line = lines[j];
            var inOrOpensBlock = Indent(line) > 0 || (j + 1 < lines.Length && Opens(line, lines[j + 1]));
            if (line.StartsWith("router bgp", StringComparison.Ordinal) || (inOrOpensBlock && !IsStructure(line) && !wanted.Contains(line)))
            {
                return false;
            }
        }
        return true;
    }

    private void Finish(string configuration)
    {
        foreach (var peer in PeersChanged(applied, configuration))
        {
            reasons.Forget(peer);
            md5.Forget(peer);
        }
        applied = configuration;
        runningAfterApply = RunningConfiguration();
        logger.LogInformation("FRR configuration applied ({Lines} lines)", configuration.Count(c => c == '\n'));
    }

    /// <summary>
    /// VIP churn (network lines added or removed) and anything only added (the withdrawal map before
    /// a stop, a new peer) go to vtysh at once, each line under the blocks that hold it: no
    /// frr-reload, whose Python start and diff take seconds on a small or emulated CPU (inside the
    /// 20 s a stopping agent has to withdraw), and which deletes lines one vtysh call at a time (a
    /// minute for 2,000 VIPs). False if vtysh refused a line: frr-reload then makes FRR hold the text,
    /// whatever vtysh took.
    /// </summary>
    private bool TryIncrement(string commands)
    {
        // A directory of our own (mode 0700): the lines may hold a session's password.
        var work = Directory.CreateTempSubdirectory("frr-increment-");
        try
        {
            var file = Path.Combine(work.FullName, "increment.conf");
            File.WriteAllText(file, commands);
            Run(Vtysh, ["--vty_socket", paths.SocketDirectory, "-f", file]);
            return true;
        }
        catch (InvalidOperationException error)
        {
            logger.LogDebug("vtysh refused the increment ({Error}); frr-reload applies the text", error.Message);
            return false;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The vtysh commands that take FRR from <paramref name="before"/> to <paramref name="after"/>
    /// when every line removed is a network statement and the rest are lines added: first each
    /// <c>no network</c>, then each added line, each inside the blocks that hold it (found by
    /// indentation) and followed by their exits. Null for any other change, which frr-reload makes.
    /// Lines are compared with the blocks that hold them, so a line added to one block is not
    /// mistaken for the same text in another (two route-maps that set the same community).
    /// </summary>
    internal static string? Increment(string before, string after)
    {
        var old = Place(before.Split('\n'));
        var now = Place(after.Split('\n'));
        var had = old.Select(l => l.Key).ToHashSet(StringComparer.Ordinal);
        var has = now.Select(l => l.Key).ToHashSet(StringComparer.Ordinal);
        // A session's outbound map named anew replaces the old one in FRR: no removal to make.
        var outMapsNamed = now.Where(l => !had.Contains(l.Key)).Select(l => OutboundMapOf(l.Line, l.Blocks)).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var removed = old.Where(l => !has.Contains(l.Key) && !(OutboundMapOf(l.Line, l.Blocks) is { } map && outMapsNamed.Contains(map))).ToList();
        if (removed.Any(l => !IsNetwork(l.Line)))
        {
            return null;
        }
        var text = new System.Text.StringBuilder();
        foreach (var (line, blocks, _, _) in removed)
        {
            // `no network P`: the prefix names the statement, whatever route-map hung on it.
            Enter(text, blocks, new string(' ', Indent(line)) + "no " + string.Join(' ', line.Trim().Split(' ').Take(2)), opens: false);
        }
        foreach (var (line, blocks, opens, _) in now.Where(l => !had.Contains(l.Key)))
        {
            Enter(text, blocks, line, opens);
        }
        return text.ToString();
    }

    private static void Enter(System.Text.StringBuilder text, IReadOnlyList<string> blocks, string line, bool opens)
    {
        foreach (var block in blocks)
        {
            text.Append(block).Append('\n');
        }
        text.Append(line).Append('\n');
        foreach (var block in (opens ? blocks.Append(line) : blocks).Reverse())
        {
            text.Append(block.TrimStart().StartsWith("address-family ", StringComparison.Ordinal) ? " exit-address-family" : "exit").Append('\n');
        }
    }

    /// <summary>Each meaningful line with the lines of the blocks that hold it, a key made of both, and whether it opens a block itself.</summary>
    private static List<(string Line, IReadOnlyList<string> Blocks, bool Opens, string Key)> Place(string[] lines)
    {
        var placed = new List<(string, IReadOnlyList<string>, bool, string)>();
        var open = new List<string>();
        for (var j = 0; j < lines.Length; j++)
        {
            if (IsStructure(lines[j]))
            {
                continue;
            }
            while (open.Count > 0 && Indent(open[^1]) >= Indent(lines[j]))
            {
                open.RemoveAt(open.Count - 1);
            }
            var blocks = open.ToArray();
            var opens = j + 1 < lines.Length && Opens(lines[j], lines[j + 1]);
            placed.Add((lines[j], blocks, opens, string.Join('\n', blocks.Append(lines[j]))));
            if (opens)
            {
                open.Add(lines[j]);
            }
        }
        return placed;
    }

    /// <summary>For <c>neighbor A route-map M out</c>, the session and block it sets the outbound map of; null for any other line.</summary>
    private static string? OutboundMapOf(string line, IReadOnlyList<string> blocks)
    {
        var words = line.Trim().Split(' ');
        return words is ["neighbor", var peer, "route-map", _, "out"] ? string.Join('\n', blocks.Append($"neighbor {peer} route-map out")) : null;
    }

    private static bool IsNetwork(string line) => line.TrimStart().StartsWith("network ", StringComparison.Ordinal);

    private static int Indent(string line) => line.Length - line.TrimStart(' ').Length;

    /// <summary>Whether <paramref name="line"/> opens a block: lines deeper follow it, or its own exit (an empty route-map).</summary>
    private static bool Opens(string line, string next) =>
        IsStructure(next) ? next.Trim() is "exit" or "exit-address-family" && Indent(next) == Indent(line) : Indent(next) > Indent(line);

    /// <summary>Lines that only close blocks or separate them.</summary>
    private static bool IsStructure(string line) =>
        line.Trim() is "" or "!" or "exit" or "exit-address-family";

    private void Reload()
    {
        var work = Directory.CreateTempSubdirectory("frr-reload-");
        try
        {
            // --stdout: its log goes to what we capture, not to /var/log/frr, which the agent's
            // container can neither write (read-only root, no DAC_OVERRIDE) nor needs.
            Run(paths.Reload,
                ["--reload", "--stdout", "--vty_socket", paths.SocketDirectory, "--bindir", paths.BinDirectory,
                 "--confdir", Path.GetDirectoryName(paths.ConfigurationFile)!, "--rundir", work.FullName, "--log-level", "error", paths.ConfigurationFile]);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>The peers some line of which (a neighbor setting, in <c>router bgp</c> or an address family) differs between the two texts.</summary>
    private static IEnumerable<IPAddressValue> PeersChanged(string? before, string after)
    {
        var old = (before ?? string.Empty).Split('\n').ToHashSet(StringComparer.Ordinal);
        var now = after.Split('\n').ToHashSet(StringComparer.Ordinal);
        return old.Except(now).Concat(now.Except(old))
            .Select(line => line.TrimStart().Split(' '))
            .Where(words => words.Length > 1 && words[0] == "neighbor" && IPAddressValue.TryParse(words[1], out _))
            .Select(words => IPAddressValue.Parse(words[1]))
            .Distinct();
    }

    /// <summary>Whether a line of <c>router bgp</c>'s own neighbor settings (not an address family's) is in <paramref name="before"/> only.</summary>
    private static bool RemovesPeerLines(string before, string after)
    {
        var kept = after.Split('\n').ToHashSet(StringComparer.Ordinal);
        return before.Split('\n').Any(line => line.StartsWith(" neighbor ", StringComparison.Ordinal) && !kept.Contains(line));
    }

    public IReadOnlyList<BgpSessionState> ReadSessions()
    {
        var json = Run(Vtysh, ["--vty_socket", paths.SocketDirectory, "-d", "bgpd", "-c", "show bgp neighbors json"]);
        var neighbors = Parse(json);
        lock (readGate)
        {
            foreach (var gone in refusedOpens.Keys.Where(peer => neighbors.All(n => n.Session.Peer != peer)).ToList())
            {
                refusedOpens.Remove(gone);
            }
            var explained = reasons.Explain([.. neighbors.Select(n => (n.Session, WithRefusedOpen(n)))]);
            return md5.Explain(explained, FrrOutput.PeersWithPassword(applied), TcpMd5Counters.Read(paths.Netstat));
        }
    }

    /// <summary>
    /// A session that FRR refused for its peer's AS is explained by the AS in the refused OPEN, which
    /// lasts where FRR's reason does not (see <see cref="RefusedOpen"/>). The text is read again only
    /// when FRR has sent another NOTIFICATION to that peer.
    /// </summary>
    private const string BadPeerAs = "OPEN Message Error/Bad Peer AS";

    private string? WithRefusedOpen(Neighbor neighbor)
    {
        var session = neighbor.Session;
        if (session.IsEstablished || neighbor.NotificationsSent == 0 || neighbor.RemoteAs is not { } expected
            || (neighbor.Notification is { } now && now != BadPeerAs))
        {
            return neighbor.Notification;
        }
        if (!refusedOpens.TryGetValue(session.Peer, out var known) || known.NotificationsSent != neighbor.NotificationsSent)
        {
            var text = Run(Vtysh, ["--vty_socket", paths.SocketDirectory, "-d", "bgpd", "-c", $"show bgp neighbors {session.Peer}"]);
            refusedOpens[session.Peer] = known = (neighbor.NotificationsSent, RefusedOpen.PeerAs(text));
        }
        return known.PeerAs is { } given && given != expected
            ? $"{BadPeerAs}: the peer's OPEN gives AS {given}, the BGPPeer's peerASN is {expected}"
            : neighbor.Notification;
    }

    /// <summary>One neighbor as bgpd reports it, with what explaining its failure needs.</summary>
    /// <param name="Notification">The NOTIFICATION's reason, when that was its last reset ("the peer sent ..." when it came from the peer).</param>
    /// <param name="RemoteAs">The AS FRR expects of the peer.</param>
    private sealed record Neighbor(BgpSessionState Session, string? Notification, uint? RemoteAs, long NotificationsSent);

    /// <summary>bgpd's <c>show bgp neighbors json</c>: an object keyed by neighbor address.</summary>
    private static List<Neighbor> Parse(string json)
    {
        using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json);
        var sessions = new List<Neighbor>();
        foreach (var neighbor in document.RootElement.EnumerateObject())
        {
            if (!IPAddressValue.TryParse(neighbor.Name, out var peer) || neighbor.Value.ValueKind != JsonValueKind.Object)
            {
                continue; // a peer group or interface neighbor: not ours
            }
            var n = neighbor.Value;
            var state = Text(n, "bgpState") ?? "Unknown";
            var prefixes = 0;
            if (n.TryGetProperty("addressFamilyInfo", out var families) && families.ValueKind == JsonValueKind.Object)
            {
                foreach (var family in families.EnumerateObject())
                {
                    if (family.Value.ValueKind == JsonValueKind.Object && family.Value.TryGetProperty("sentPrefixCounter", out var sent) && sent.TryGetInt32(out var count))
                    {
                        prefixes += count;
                    }
                }
            }
            var stats = n.TryGetProperty("messageStats", out var s) ? s : default;
            var bfd = n.TryGetProperty("peerBfdInfo", out var bfdInfo) ? Text(bfdInfo, "status") : null;
            var notification = state == BgpSessionState.Established ? null : Text(n, "lastNotificationReason");
            if (notification is not null && Text(n, "lastResetDueTo") == "BGP Notification received")
            {
                notification = $"the peer sent {notification}";
            }
            var error = state == BgpSessionState.Established ? null : notification ?? Text(n, "lastResetDueTo");
            var remoteAs = n.TryGetProperty("remoteAs", out var r) && r.TryGetUInt32(out var asn) ? asn : (uint?)null;
            sessions.Add(new(
                new BgpSessionState(peer, state, state == BgpSessionState.Established ? prefixes : 0, Number(stats, "updatesSent"), bfd, error),
                notification, remoteAs, Number(stats, "notificationsSent")));
        }
        return sessions;
    }

    private static long Number(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.TryGetInt64(out var number) ? number : 0;

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// Holds the passwords: kept in memory to be compared, never stored, logged or shown. A failure
    /// to read it is redacted as any other.
    /// </summary>
    private string RunningConfiguration() => Run(Vtysh, ["--vty_socket", paths.SocketDirectory, "-c", "show running-config"], redactOutput: false);

    /// <summary>
    /// The one way FRR's output enters the agent: what it prints, on success or in a failure's
    /// message, is redacted before anyone can store, log or show it (see <see cref="FrrOutput"/>).
    /// </summary>
    private string Run(string program, IReadOnlyList<string> arguments, bool redactOutput = true)
    {
        string output;
        try
        {
            output = ExternalProgram.Run(program, arguments, null, runTimeout);
        }
        catch (InvalidOperationException error)
        {
            // A new exception without the old as its cause: that one carries the text unredacted.
            throw new InvalidOperationException(FrrOutput.Redact(error.Message, passwords));
        }
        return redactOutput ? FrrOutput.Redact(output, passwords) : output;
    }

    /// <summary>
    /// Replaced in one rename: FRR starting meanwhile reads the old file or the new one, never half of
    /// one. Readable by its owner only: it holds the sessions' passwords.
    /// </summary>
    private void WriteConfigurationFile(string configuration)
    {
        var temporary = paths.ConfigurationFile + ".new";
        File.Delete(temporary);
        using (var file = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(configuration);
        }
        File.Move(temporary, paths.ConfigurationFile, overwrite: true);
    }
}
