using System.Net;
using k8s.Models;

namespace IpvsOperator.Runtime.Client;

/// <summary>An error the API server answered with a Status: its code, reason and message.</summary>
public sealed class ApiStatusException(HttpStatusCode code, V1Status status)
    : Exception($"{(int)code} {status.Reason}: {status.Message}")
{
    public HttpStatusCode Code { get; } = code;
    public V1Status Status { get; } = status;

    public bool IsNotFound => Code == HttpStatusCode.NotFound;
    public bool IsConflict => Code == HttpStatusCode.Conflict && Status.Reason != "AlreadyExists";
    public bool IsAlreadyExists => Code == HttpStatusCode.Conflict && Status.Reason == "AlreadyExists";
    public bool IsGone => Code == HttpStatusCode.Gone || Status.Reason == "Expired";

    /// <summary>Worth retrying as is: the server was unavailable, overloaded or failed internally.</summary>
    public bool IsTransient => (int)Code >= 500 || Code == HttpStatusCode.TooManyRequests;
}
