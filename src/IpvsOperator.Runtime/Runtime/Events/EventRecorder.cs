using System.Collections.Concurrent;
using System.Globalization;
using IpvsOperator.Runtime.Client;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace IpvsOperator.Runtime.Events;

public enum EventType
{
    Normal,
    Warning,
}

/// <summary>
/// Records core/v1 Events about objects, deduplicated as client-go's recorder does: the same
/// reason and message for the same object bumps the count and lastTimestamp of one Event instead
/// of creating another. Recording never throws: an Event that cannot be written is logged.
/// </summary>
public sealed class EventRecorder(ApiConnection api, string component, ILogger<EventRecorder> logger, TimeProvider? time = null)
{
    private readonly EntityClient<Corev1Event> events = new(api);
    private readonly ConcurrentDictionary<(string Uid, string Type, string Reason, string Message), (string Namespace, string Name)> recorded = new();
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>Longer messages are cut (they carry user input, such as a pool's entries).</summary>
    public const int MaxMessageLength = 1024;

    // Which Events were written, to bump their count; bounded like client-go's cache.
    private const int Remembered = 4096;

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> about, EventType type, string reason, string message, CancellationToken cancellationToken = default)
    {
        if (message.Length > MaxMessageLength)
        {
            message = string.Concat(message.AsSpan(0, MaxMessageLength - 3), "...");
        }
        // Events of cluster-scoped objects live in "default", as kubectl describe expects.
        var ns = string.IsNullOrEmpty(about.Metadata.NamespaceProperty) ? "default" : about.Metadata.NamespaceProperty;
        var now = clock.GetUtcNow().UtcDateTime;
        var key = (about.Metadata.Uid ?? about.Metadata.Name, type.ToString(), reason, message);
        try
        {
            if (recorded.TryGetValue(key, out var existing) && await events.GetAsync(existing.Namespace, existing.Name, cancellationToken) is { } previous)
            {
                previous.Count = (previous.Count ?? 1) + 1;
                previous.LastTimestamp = now;
                await events.ReplaceAsync(previous, cancellationToken);
                return;
            }
            var created = await events.CreateAsync(new Corev1Event
            {
                Metadata = new V1ObjectMeta
                {
                    Name = $"{about.Metadata.Name}.{now.Ticks.ToString("x", CultureInfo.InvariantCulture)}",
                    NamespaceProperty = ns,
                },
                InvolvedObject = new V1ObjectReference
                {
                    ApiVersion = about.ApiVersion,
                    Kind = about.Kind,
                    Name = about.Metadata.Name,
                    NamespaceProperty = about.Metadata.NamespaceProperty,
                    Uid = about.Metadata.Uid,
                    ResourceVersion = about.Metadata.ResourceVersion,
                },
                Type = type.ToString(),
                Reason = reason,
                Message = message,
                Count = 1,
                FirstTimestamp = now,
                LastTimestamp = now,
                Source = new V1EventSource { Component = component },
                ReportingComponent = component,
            }, cancellationToken);
            if (recorded.Count >= Remembered)
            {
                recorded.Clear(); // the next of each is a new Event, as after a restart
            }
            recorded[key] = (ns, created.Metadata.Name);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            logger.LogWarning(error, "could not record {Reason} event for {Object}: {Message}", reason, about.Metadata.Name, message);
        }
    }
}
