namespace IpvsOperator.Readers;

/// <summary>
/// A Service annotation whose value the node agents cannot follow. The Service webhook refuses it with
/// <see cref="Message"/>; an agent that meets it anyway (the webhook fails open) does
/// <see cref="Fallback"/> instead and says so on the Service (<see cref="FallbackMessage"/>, under
/// <see cref="Reason"/>). <see cref="Valid"/> says what would be valid, when <see cref="Problem"/> does not already.
/// </summary>
public sealed record ServiceAnnotationError(string Reason, string Problem, string? Valid, string Fallback)
{
    public const string UnknownScheduler = "UnknownScheduler";
    public const string UnknownSchedulerFlag = "UnknownSchedulerFlag";
    public const string UnknownForwardMethod = "UnknownForwardMethod";
    public const string InvalidHealthCheck = "InvalidHealthCheck";
    public const string InvalidSessionAffinityTimeout = "InvalidSessionAffinityTimeout";

    /// <summary>The value that is wrong and what would be valid.</summary>
    public string Message => Valid is null ? Problem : $"{Problem}; {Valid}";

    /// <summary>The value that is wrong, what is done instead, and what would be valid.</summary>
    public string FallbackMessage => Valid is null ? $"{Problem}; {Fallback}" : $"{Problem}; {Fallback}; {Valid}";
}
