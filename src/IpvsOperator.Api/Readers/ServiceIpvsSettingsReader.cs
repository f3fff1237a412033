using IpvsOperator.Runtime.Text;
using k8s.Models;
using A = IpvsOperator.Entities.WellKnown.Annotations;

namespace IpvsOperator.Readers;

/// <summary>
/// Reads how a Service asks to be load-balanced: its scheduler, forward method and health-check
/// annotations, and its session affinity as persistence. The Service webhook and the node agents
/// share it: the webhook refuses a Service with <see cref="ServiceAnnotationError"/>s and passes the
/// warnings on; an agent that meets the errors anyway (the webhook fails open) serves the Service
/// with the fallbacks the settings hold, and says so on that Service only.
/// </summary>
public static class ServiceIpvsSettingsReader
{
    public const string DefaultScheduler = "rr";
    public const string DefaultForwardMethod = "masq";

    /// <summary>Kubernetes' default for <c>sessionAffinityConfig.clientIP.timeoutSeconds</c> (3 hours).</summary>
    public const uint DefaultPersistenceTimeout = 10800;

    /// <summary>The longest <c>timeoutSeconds</c> Kubernetes admits (a day).</summary>
    public const int MaxPersistenceTimeout = 86400;

    /// <summary>
    /// The IPVS schedulers, by their kernel names (the ip_vs_NAME modules Debian's kernel ships). The
    /// dataplane keeps its own list, which this project may not use; a test holds the two equal.
    /// </summary>
    public static readonly IReadOnlySet<string> Schedulers = new HashSet<string>(StringComparer.Ordinal)
        { "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos" };

    /// <summary>
    /// The flags of the hashing schedulers, by ipvsadm's names. The dataplane keeps its own list, which
    /// this project may not use; a test holds the two equal.
    /// </summary>
    public static readonly IReadOnlySet<string> SchedulerFlags = new HashSet<string>(StringComparer.Ordinal)
        { "sh-fallback", "sh-port", "mh-fallback", "mh-port" };

    /// <summary>The forward methods, by the names the annotation takes: masquerading (NAT), direct routing, IP-in-IP tunnelling.</summary>
    public static readonly IReadOnlyList<string> ForwardMethods = ["masq", "droute", "tunnel"];

    /// <param name="service">Untrusted: any field may be missing.</param>
    /// <returns>
    /// The settings, with a fallback in place of each value in error; the errors, each naming the
    /// annotation, the value and what would be valid; and warnings about keys under
    /// <c>ipvsoperator.io/</c> that the operator does not know (misspelt or stale: ignored).
    /// </returns>
    public static (ServiceIpvsSettings Settings, IReadOnlyList<ServiceAnnotationError> Errors, IReadOnlyList<string> Warnings) Read(V1Service service)
    {
        var annotations = service.Metadata?.Annotations ?? new Dictionary<string, string>();
        var errors = new List<ServiceAnnotationError>();

        var scheduler = Value(annotations, A.Scheduler) ?? DefaultScheduler;
        if (!Schedulers.Contains(scheduler))
        {
            errors.Add(new ServiceAnnotationError(ServiceAnnotationError.UnknownScheduler,
                $"annotation {A.Scheduler}: '{QuotedValue.Of(scheduler)}' is not an IPVS scheduler",
                $"valid: {string.Join(", ", Schedulers.Order(StringComparer.Ordinal))}", $"using {DefaultScheduler}"));
            scheduler = DefaultScheduler;
        }

        var (fallback, port) = ReadSchedulerFlags(Value(annotations, A.SchedulerFlags), Value(annotations, A.Scheduler) is null ? null : scheduler, errors);

        var method = Value(annotations, A.ForwardMethod) ?? DefaultForwardMethod;
        if (!ForwardMethods.Contains(method, StringComparer.Ordinal))
        {
            errors.Add(new ServiceAnnotationError(ServiceAnnotationError.UnknownForwardMethod,
                $"annotation {A.ForwardMethod}: '{QuotedValue.Of(method)}' is not a forward method",
                $"valid: {string.Join(", ", ForwardMethods)}", $"using {DefaultForwardMethod}"));
            method = DefaultForwardMethod;
        }

        var (check, checkError) = HealthCheckReader.Read(service);
        if (checkError is not null)
        {
            errors.Add(new ServiceAnnotationError(ServiceAnnotationError.InvalidHealthCheck, checkError, null, "its endpoints are not checked"));
        }

        var persistent = service.Spec?.SessionAffinity == "ClientIP";
        var timeout = 0u;
        if (persistent)
        {
            // Kubernetes admits 1 to 86400 s; a value that bypassed admission must not wrap into the kernel's u32.
            var asked = service.Spec!.SessionAffinityConfig?.ClientIP?.TimeoutSeconds;
            if (asked is < 1 or > MaxPersistenceTimeout)
            {
                errors.Add(new ServiceAnnotationError(ServiceAnnotationError.InvalidSessionAffinityTimeout,
                    $"spec.sessionAffinityConfig.clientIP.timeoutSeconds {asked} is out of range", $"valid: 1 to {MaxPersistenceTimeout}", $"using {DefaultPersistenceTimeout}"));
                asked = null;
            }
            timeout = (uint?)asked ?? DefaultPersistenceTimeout;
        }

        return (new ServiceIpvsSettings(scheduler, method, persistent, timeout, check)
        {
            SchedulerAnnotated = Value(annotations, A.Scheduler) is not null,
            HashFallback = fallback,
            HashPort = port,
        }, errors, UnknownKeys(annotations));
    }

    /// <summary>
    /// The flags of the hashing schedulers, by ipvsadm's names: each must be one of the annotated
    /// scheduler's own (<c>mh-port</c> with <c>mh</c>); a flag that is not is dropped and said, the others kept.
    /// </summary>
    /// <param name="scheduler">The scheduler the Service names (null: none, so no flag can apply).</param>
    private static (bool Fallback, bool Port) ReadSchedulerFlags(string? text, string? scheduler, List<ServiceAnnotationError> errors)
    {
        if (string.IsNullOrEmpty(text))
        {
            return (false, false);
        }
        var own = scheduler is "sh" or "mh" ? new[] { $"{scheduler}-fallback", $"{scheduler}-port" } : [];
        var (fallback, port) = (false, false);
        foreach (var flag in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!own.Contains(flag, StringComparer.Ordinal))
            {
                errors.Add(new ServiceAnnotationError(ServiceAnnotationError.UnknownSchedulerFlag,
                    $"annotation {A.SchedulerFlags}: '{QuotedValue.Of(flag)}' is not a flag of {(scheduler is null ? $"the scheduler (the Service names none in {A.Scheduler})" : $"the {QuotedValue.Of(scheduler)} scheduler")}",
                    own.Length == 0 ? $"valid: sh-fallback, sh-port with {A.Scheduler}: sh; mh-fallback, mh-port with mh" : $"valid: {string.Join(", ", own)}",
                    "the flag is ignored"));
                continue;
            }
            fallback |= flag.EndsWith("-fallback", StringComparison.Ordinal);
            port |= flag.EndsWith("-port", StringComparison.Ordinal);
        }
        return (fallback, port);
    }

    private static string? Value(IDictionary<string, string> annotations, string name) =>
        annotations.TryGetValue(name, out var value) ? value?.Trim() : null;

    private static List<string> UnknownKeys(IDictionary<string, string> annotations) =>
        [.. annotations.Keys
            .Where(key => key.StartsWith(A.Prefix, StringComparison.Ordinal) && !A.All.Contains(key))
            .Order(StringComparer.Ordinal)
            .Select(key => NearestName.Among(key, A.All) is { } meant
                ? $"annotation {QuotedValue.Of(key)} is unknown to the operator and ignored; did you mean {meant}?"
                : $"annotation {QuotedValue.Of(key)} is unknown to the operator and ignored")];
}
