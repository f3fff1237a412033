using System.Text.RegularExpressions;
using IpvsOperator.Addressing;

namespace IpvsOperator.Dataplane.Bgp;

/// <summary>
/// What FRR prints, made fit to store, log or show: frr-reload and vtysh quote the configuration
/// lines they refuse, <c>neighbor X password Y</c> among them, and that text would go on into an
/// IPVSNode status, an Event and a log line. Every word after <c>password</c> and every password
/// the configuration holds is replaced, wherever it appears.
/// </summary>
internal static partial class FrrOutput
{
    public const string Redacted = "<redacted>";

    [GeneratedRegex(@"(?<keyword>password\s+)\S+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PasswordWord();

    [GeneratedRegex(@"^\s*neighbor\s+(?<peer>\S+)\s+password\s+(?<password>\S+)\s*$", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex PasswordLine();

    public static string Redact(string text, IEnumerable<string> passwords)
    {
        var redacted = PasswordWord().Replace(text, m => m.Groups["keyword"].Value + Redacted);
        // Longest first: a password that holds a shorter one is replaced whole.
        foreach (var password in passwords.Where(p => p.Length > 0).OrderByDescending(p => p.Length))
        {
            redacted = redacted.Replace(password, Redacted, StringComparison.Ordinal);
        }
        return redacted;
    }

    /// <summary>The passwords of a configuration's <c>neighbor X password Y</c> lines.</summary>
    public static IEnumerable<string> PasswordsIn(string? configuration) =>
        configuration is null ? [] : PasswordLine().Matches(configuration).Select(m => m.Groups["password"].Value);

    /// <summary>The peers a configuration gives a password.</summary>
    public static IReadOnlySet<IPAddressValue> PeersWithPassword(string? configuration) =>
        configuration is null
            ? new HashSet<IPAddressValue>()
            : PasswordLine().Matches(configuration).Select(m => IPAddressValue.TryParse(m.Groups["peer"].Value, out var peer) ? peer : (IPAddressValue?)null)
                .OfType<IPAddressValue>().ToHashSet();
}
