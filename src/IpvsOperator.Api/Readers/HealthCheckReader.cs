using System.Globalization;
using IpvsOperator.Runtime.Text;
using k8s.Models;
using A = IpvsOperator.Entities.WellKnown.Annotations;

namespace IpvsOperator.Readers;

/// <summary>
/// Reads a Service's health check from its <c>ipvsoperator.io/health-check*</c> annotations. A bad
/// value is an error naming the annotation, the value and what would be valid: the Service webhook
/// refuses it, and a node agent that meets one anyway (the webhook fails open) probes nothing for
/// that Service and says why.
/// </summary>
public static class HealthCheckReader
{
    public const string Protocols = "tcp, http or https";

    public static (HealthCheck? Check, string? Error) Read(V1Service service)
    {
        var annotations = service.Metadata?.Annotations ?? new Dictionary<string, string>();
        string? Value(string name) => annotations.TryGetValue(name, out var value) ? value.Trim() : null;

        if (Value(A.HealthCheck) is not { } protocolText)
        {
            var stray = annotations.Keys.Where(k => k.StartsWith(A.HealthCheck + "-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            return stray.Count == 0
                ? (null, null)
                : (null, $"annotation {stray[0]} is set but {A.HealthCheck} is not; set {A.HealthCheck} to {Protocols} to check the endpoints, or remove {string.Join(", ", stray)}");
        }
        HealthCheckProtocol protocol;
        switch (protocolText.ToLowerInvariant())
        {
            case "tcp": protocol = HealthCheckProtocol.Tcp; break;
            case "http": protocol = HealthCheckProtocol.Http; break;
            case "https": protocol = HealthCheckProtocol.Https; break;
            default: return (null, $"annotation {A.HealthCheck}: '{QuotedValue.Of(protocolText)}' is not a health check; valid: {Protocols}");
        }
        if (protocol == HealthCheckProtocol.Tcp && (Value(A.HealthCheckPath) is not null || Value(A.HealthCheckExpectedStatus) is not null))
        {
            return (null, $"annotations {A.HealthCheckPath} and {A.HealthCheckExpectedStatus} apply to http and https checks; {A.HealthCheck} is tcp");
        }

        int? port = null;
        if (Value(A.HealthCheckPort) is { } portText)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
            {
                return (null, $"annotation {A.HealthCheckPort}: '{QuotedValue.Of(portText)}' is not a port; expected a number from 1 to 65535 (unset: each endpoint's own port)");
            }
            port = number;
        }
        else if (service.Spec?.Ports?.FirstOrDefault(p => (p.Protocol ?? "TCP") != "TCP") is { } datagram)
        {
            // A UDP or SCTP port answers no TCP connection or HTTP request: the pods must offer one elsewhere.
            return (null, $"port {datagram.Port}/{datagram.Protocol} cannot be checked over {protocolText}; set {A.HealthCheckPort} to a TCP port the same pods serve (a health endpoint)");
        }

        var path = Value(A.HealthCheckPath) ?? HealthCheck.DefaultPath;
        if (!path.StartsWith('/') || path.Length > HealthCheck.MaximumPathLength || path.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return (null, $"annotation {A.HealthCheckPath}: '{QuotedValue.Of(path)}' is not a request path; expected one starting with / (at most {HealthCheck.MaximumPathLength} characters, no spaces), such as /healthz");
        }

        var (from, to) = (HealthCheck.DefaultStatusFrom, HealthCheck.DefaultStatusTo);
        if (Value(A.HealthCheckExpectedStatus) is { } statusText && !TryReadStatus(statusText, out from, out to))
        {
            return (null, $"annotation {A.HealthCheckExpectedStatus}: '{QuotedValue.Of(statusText)}' is not an HTTP status or range; expected a status from 100 to 599 (200) or a range (200-399)");
        }

        if (!TryReadDuration(Value(A.HealthCheckInterval), A.HealthCheckInterval, HealthCheck.DefaultInterval, HealthCheck.MinimumInterval, HealthCheck.MaximumInterval, out var interval, out var error)
            || !TryReadDuration(Value(A.HealthCheckTimeout), A.HealthCheckTimeout, HealthCheck.DefaultTimeout, HealthCheck.MinimumTimeout, HealthCheck.MaximumInterval, out var timeout, out error))
        {
            return (null, error);
        }
        if (timeout > interval)
        {
            return (null, $"annotation {A.HealthCheckTimeout}: {DurationText.Format(timeout)} is longer than the interval, {DurationText.Format(interval)}; a probe must end before the next one starts");
        }

        if (!TryReadThreshold(Value(A.HealthCheckHealthyThreshold), A.HealthCheckHealthyThreshold, HealthCheck.DefaultHealthyThreshold, out var healthy, out error)
            || !TryReadThreshold(Value(A.HealthCheckUnhealthyThreshold), A.HealthCheckUnhealthyThreshold, HealthCheck.DefaultUnhealthyThreshold, out var unhealthy, out error))
        {
            return (null, error);
        }
        var reset = false;
        if (Value(A.HealthCheckResetConnections) is { } resetText && !bool.TryParse(resetText, out reset))
        {
            return (null, $"annotation {A.HealthCheckResetConnections}: '{QuotedValue.Of(resetText)}' is not a boolean; expected true (reset a down endpoint's connections) or false (let them finish, the default)");
        }
        return (new HealthCheck(protocol, port, path, from, to, interval, timeout, healthy, unhealthy, reset), null);
    }

    private static bool TryReadStatus(string text, out int from, out int to)
    {
        var parts = text.Split('-');
        from = to = 0;
        if (parts.Length is < 1 or > 2 || !parts.All(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 100 and <= 599))
        {
            return false;
        }
        from = int.Parse(parts[0], CultureInfo.InvariantCulture);
        to = int.Parse(parts[^1], CultureInfo.InvariantCulture);
        return from <= to;
    }

    private static bool TryReadDuration(string? text, string annotation, TimeSpan fallback, TimeSpan minimum, TimeSpan maximum, out TimeSpan value, out string? error)
    {
        (value, error) = (fallback, null);
        if (text is null)
        {
            return true;
        }
        var parsed = DurationText.TryParse(text, out value);
        if (!parsed && !DurationText.IsTooLong(text))
        {
            error = $"annotation {DurationText.Refusal(annotation, text)}, from {DurationText.Format(minimum)} to {DurationText.Format(maximum)}";
            return false;
        }
        if (!parsed || value < minimum || value > maximum)
        {
            error = $"annotation {annotation}: {QuotedValue.Of(text)} is out of range; expected from {DurationText.Format(minimum)} to {DurationText.Format(maximum)}";
            return false;
        }
        return true;
    }

    private static bool TryReadThreshold(string? text, string annotation, int fallback, out int value, out string? error)
    {
        (value, error) = (fallback, null);
        if (text is null)
        {
            return true;
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value is < 1 or > HealthCheck.MaximumThreshold)
        {
            error = $"annotation {annotation}: '{QuotedValue.Of(text)}' is not a threshold; expected a number of probes in a row from 1 to {HealthCheck.MaximumThreshold}";
            return false;
        }
        return true;
    }
}
