namespace Persona.Abstractions;

/// <summary>
/// One behaviour event as a client sends it. <see cref="Id"/> is the client's idempotency key: a retried
/// event with the same id is stored once. When the client sends no id, ingestion derives one from the
/// event's content, so an exact duplicate is dropped.
/// </summary>
public sealed record Event
{
    public string? Id { get; init; }
    public required string UserId { get; init; }
    public required EventType Type { get; init; }
    /// <summary>Required for every type except <see cref="EventType.Search"/>.</summary>
    public string? ItemId { get; init; }
    /// <summary>Search text; required for <see cref="EventType.Search"/>.</summary>
    public string? Query { get; init; }
    /// <summary>Rating (1–5), quantity, price paid or dwell seconds, depending on the type.</summary>
    public double? Value { get; init; }
    /// <summary>When it happened. Ingestion defaults a missing timestamp to the time it was received.</summary>
    public DateTimeOffset? Timestamp { get; init; }
    public string? SessionId { get; init; }
    public string? Device { get; init; }
    public string? Channel { get; init; }
    /// <summary>The <c>request_id</c> of the recommendations, similar-items or search answer this event responds to (docs/online-loop.md).</summary>
    public string? RequestId { get; init; }
    /// <summary>1-based place of the item in that answer; only with <see cref="RequestId"/>.</summary>
    public int? Position { get; init; }
}

/// <summary>An event as the store holds it: normalised, with a store-assigned sequence number.</summary>
public sealed record StoredEvent
{
    /// <summary>Monotonic per store, assigned at append; orders events by arrival.</summary>
    public long Sequence { get; init; }
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public required EventType Type { get; init; }
    public string? ItemId { get; init; }
    public string? Query { get; init; }
    public double? Value { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public DateTimeOffset ReceivedAt { get; init; }
    public string? SessionId { get; init; }
    public string? Device { get; init; }
    public string? Channel { get; init; }
    /// <summary>The answer this event responds to (see <see cref="Event.RequestId"/>).</summary>
    public string? RequestId { get; init; }
    /// <summary>1-based place of the item in that answer.</summary>
    public int? Position { get; init; }
    /// <summary>Why the event is left out of profiles (e.g. <c>burst</c>), or null when it counts.</summary>
    public string? ExcludedReason { get; init; }
}
